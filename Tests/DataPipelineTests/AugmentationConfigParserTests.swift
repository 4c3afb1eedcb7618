import XCTest
@testable import DataPipeline

/// OpenCLIP's `--aug-cfg key=value ...` command-line form and its errors.
final class AugmentationConfigParserTests: XCTestCase {
    func parse(_ arguments: String...) throws -> AugmentationConfig { try AugmentationConfig(parsing: arguments) }

    func assertError(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AugmentationConfig(parsing: arguments), file: file, line: line) { error in
            XCTAssertEqual("\(error)", "invalid data option: --aug-cfg: \(expected) (accepted keys: scale, ratio, color_jitter, "
                           + "color_jitter_prob, gray_scale_prob, use_timm; or none alone)", file: file, line: line)
        }
    }

    func testOpenCLIPCommandLineForm() throws {
        // As the shell passes `--aug-cfg scale='(0.5, 1.0)' color_jitter='(0.4,0.4,0.4,0.1)' color_jitter_prob=0.8 gray_scale_prob=0.2`.
        let c = try parse("scale=(0.5, 1.0)", "color_jitter=(0.4,0.4,0.4,0.1)", "color_jitter_prob=0.8", "gray_scale_prob=0.2")
        XCTAssertEqual(c.scale, 0.5...1.0)
        XCTAssertEqual(c.colorJitter, ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1))
        XCTAssertEqual(c.colorJitterProbability, 0.8)
        XCTAssertEqual(c.grayscaleProbability, 0.2)
        XCTAssertEqual(c.ratio, (3.0 / 4.0)...(4.0 / 3.0))
        XCTAssertFalse(c.evaluationPreprocessing)
        // The same with the quotes kept (a recipe string), in one string, or in the plain comma form.
        XCTAssertEqual(try parse("scale='(0.5, 1.0)' color_jitter=\"[0.4, 0.4, 0.4, 0.1]\" color_jitter_prob=0.8 gray_scale_prob=0.2"), c)
        XCTAssertEqual(try parse("scale=0.5,1.0", "color_jitter=0.4,0.4,0.4,0.1", "color_jitter_prob=0.8", "gray_scale_prob=0.2"), c)
    }

    func testColorJitterForms() throws {
        XCTAssertEqual(try parse("color_jitter=0.3").colorJitter, ColorJitter(brightness: 0.3, contrast: 0.3, saturation: 0.3))
        XCTAssertEqual(try parse("color_jitter=(0.1, 0.2, 0.3)").colorJitter, ColorJitter(brightness: 0.1, contrast: 0.2, saturation: 0.3))
        let always = try parse("color_jitter=0.3")
        XCTAssertNil(always.colorJitterProbability)
        XCTAssertEqual(always.photometric.colorJitterProbability, 1)
    }

    func testNoneAndUseTimm() throws {
        XCTAssertTrue(try parse("none").evaluationPreprocessing)
        XCTAssertEqual(try parse("use_timm=False", "scale=(0.8, 1)").scale, 0.8...1.0)
        XCTAssertEqual(try parse(), AugmentationConfig())
    }

    func testErrorsAreOneLineAndListTheAcceptedKeys() {
        assertError(["scal=(0.5, 1.0)"], "unknown key 'scal'")
        assertError(["re_prob=0.25"], "unknown key 're_prob'")
        assertError(["scale=(0.5"], "scale='(0.5' must be two numbers 0 < low <= high <= 1.0, e.g. scale='(0.9, 1.0)'")
        assertError(["scale=(1.0, 0.5)"], "scale='(1.0, 0.5)' must be two numbers 0 < low <= high <= 1.0, e.g. scale='(0.9, 1.0)'")
        assertError(["ratio=abc"], "ratio='abc' must be two numbers 0 < low <= high, e.g. ratio='(0.75, 1.3333)'")
        assertError(["color_jitter=(0.4, 0.4)"], "color_jitter='(0.4, 0.4)' must be one strength or (brightness, contrast, saturation[, hue]), "
                    + "each >= 0 and hue <= 0.5, e.g. color_jitter='(0.4, 0.4, 0.4, 0.1)'")
        assertError(["color_jitter=(0.4, 0.4, 0.4, 0.7)"], "color_jitter='(0.4, 0.4, 0.4, 0.7)' must be one strength or (brightness, contrast, "
                    + "saturation[, hue]), each >= 0 and hue <= 0.5, e.g. color_jitter='(0.4, 0.4, 0.4, 0.1)'")
        assertError(["gray_scale_prob=1.5"], "gray_scale_prob='1.5' must be a probability in [0, 1], e.g. gray_scale_prob=0.2")
        assertError(["color_jitter_prob=0.8"], "color_jitter_prob needs color_jitter")
        assertError(["use_timm=True"], "use_timm=True: timm's transforms are not implemented; drop it for OpenCLIP's own augmentation")
        assertError(["use_timm=maybe"], "use_timm='maybe' must be True or False")
        assertError(["scale"], "'scale' is not key=value")
        assertError(["none", "scale=(0.5, 1)"], "none stands alone, got none scale=(0.5, 1)")
    }
}
