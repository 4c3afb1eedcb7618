import Foundation
import NN
import XCTest

/// The one reader of model-config JSON: OpenCLIP's acceptance rule and the shared tower checks.
final class ConfigSectionTests: XCTestCase {
    func section(_ json: String) throws -> ConfigSection {
        try ConfigSection(try JSONDecoder().decode(ConfigValue.self, from: Data(json.utf8)), name: "")
    }

    func testValuesKeepTheirKindAndLiteral() throws {
        let top = try section(#"{"a": 3, "b": 0.0, "c": 0.25, "d": true, "e": null, "f": "x", "g": {"h": 1}}"#)
        XCTAssertEqual(try top.int("a", 0), 3)
        XCTAssertEqual(try top.int("b", 7), 0)
        XCTAssertThrowsError(try top.int("c", 0)) { XCTAssertEqual("\($0)", "c is not an integer") }
        XCTAssertThrowsError(try top.int("d", 0)) { XCTAssertEqual("\($0)", "d is not an integer") }
        XCTAssertEqual(try top.bool("d", false), true)
        XCTAssertNil(try top.optionalDouble("e"))
        XCTAssertEqual(try top.int("missing", 5), 5)
        XCTAssertEqual(top.values.mapValues(\.literal).filter { $0.key != "g" }, ["a": "3", "b": "0", "c": "0.25", "d": "true", "e": "null", "f": "x"])
        XCTAssertEqual(try top.section("g").int("h", 0), 1)
        XCTAssertThrowsError(try top.section("f")) { XCTAssertEqual("\($0)", "f is missing or not an object") }
    }

    func testOnlyKnownKeysOrOpenCLIPDefaultsPass() throws {
        let tower = try section(#"{"v": {"width": 8, "ls_init_value": null, "patch_dropout": 0.0}}"#).section("v")
        XCTAssertNoThrow(try tower.check(known: ["width"], acceptedOnlyAt: ["ls_init_value:null", "patch_dropout:0"]))
        XCTAssertThrowsError(try tower.check(known: ["width"], acceptedOnlyAt: ["ls_init_value:0.1", "patch_dropout:0"])) {
            XCTAssertEqual("\($0)", "v.ls_init_value = null is not supported (only its OpenCLIP default)")
        }
        XCTAssertThrowsError(try tower.check(known: ["width", "patch_dropout"])) { XCTAssertEqual("\($0)", "unknown key v.ls_init_value (known: patch_dropout, width)") }
    }

    func testTowerSizesAreCheckedWhereverTheyAreRead() throws {
        XCTAssertEqual(try VisionTransformerConfig(section: try section(#"{"patch_size": 32}"#)).heads, 12)
        XCTAssertThrowsError(try VisionTransformerConfig(section: try section(#"{"image_size": 30, "patch_size": 16}"#))) {
            XCTAssertEqual("\($0)", "image_size 30 is not a positive multiple of patch_size 16")
        }
        let nested = try section(#"{"text_cfg": {"width": 30, "heads": 4}}"#).section("text_cfg")
        XCTAssertThrowsError(try TextTransformerConfig(section: nested)) { XCTAssertEqual("\($0)", "text_cfg.width 30 is not a positive multiple of heads 4") }
    }
}
