import CLIP
import CoCa
import Foundation
import NN
import TrainingKit
import XCTest

/// `--init-image` and `--init-text` for CoCa: from a CLIP (trunk and text tower; the pooling head and cls token stay
/// fresh), from a CoCa (whole towers), and strict errors naming the key that does not fit.
final class CoCaTowerInitialisationTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("coca-tower-init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A CLIP with coca-tiny's image trunk and text tower (text context 17 = CoCa's 16 + its cls position).
    func clipConfig(textContext: Int = 17) throws -> String {
        let json = """
        {"embed_dim": 24, "quick_gelu": false,
         "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "layers": 2, "head_width": 16, "mlp_ratio": 4.0},
         "text_cfg": {"context_length": \(textContext), "vocab_size": 1000, "width": 24, "heads": 2, "layers": 2}}
        """
        let path = folder.appendingPathComponent("clip-\(textContext).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func cocaSettings(seed: UInt64, image: String = "", text: String = "") -> Settings {
        var settings = Settings()
        settings.model = FixturePaths.cocaTiny + "/config.json"
        settings.seed = seed
        settings.initImage = image
        settings.initText = text
        return settings
    }

    func save(_ store: ParameterStore, _ name: String) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try store.save(safetensors: path)
        return path
    }

    func values(_ task: TrainingTask, _ name: String) -> [Float] { task.parameters[name]!.value.values }

    func testFromCLIPTheTrunkAndTextTowerLoadAndThePoolerAndClsTokenStayFresh() throws {
        var clipSettings = Settings()
        clipSettings.model = try clipConfig()
        clipSettings.seed = 1
        let clip = try CLIPFamily.makeTask(settings: clipSettings)
        let file = try save(clip.parameters, "clip.safetensors")

        let fresh = try CoCaFamily.makeTask(settings: cocaSettings(seed: 2))
        let imageInit = try CoCaFamily.makeTask(settings: cocaSettings(seed: 2, image: file))
        let textInit = try CoCaFamily.makeTask(settings: cocaSettings(seed: 2, text: file))

        var trunk = 0, text = 0
        for p in fresh.parameters.parameters {
            let name = p.name
            let isHead = ["visual.attn_pool.", "visual.ln_post.", "visual.proj"].contains(where: name.hasPrefix)
            if name.hasPrefix("visual.") && !isHead {
                XCTAssertEqual(values(imageInit, name), values(clip, name), name)
                trunk += 1
            } else {
                XCTAssertEqual(values(imageInit, name), p.value.values, name)
            }
            if name.hasPrefix("text."), name != "text.cls_emb" {
                XCTAssertEqual(values(textInit, name), values(clip, String(name.dropFirst("text.".count))), name)
                text += 1
            } else {
                XCTAssertEqual(values(textInit, name), p.value.values, name)
            }
        }
        XCTAssertEqual(trunk, 5 + 2 * 12)  // conv1, class and positional embeddings, ln_pre (2), 12 tensors per block
        XCTAssertGreaterThan(text, 20)
        // The fresh parts really are the seed's, not the CLIP's: CLIP's ln_post has the trunk's width, CoCa's the pooler's.
        XCTAssertNotEqual(clip.parameters["visual.proj"]!.shape, fresh.parameters["visual.proj"]!.shape)
    }

    func testFromCoCaBothWholeTowersLoadAndTheDecoderStaysFresh() throws {
        let source = try CoCaFamily.makeTask(settings: cocaSettings(seed: 1))
        let file = try save(source.parameters, "coca.safetensors")
        let fresh = try CoCaFamily.makeTask(settings: cocaSettings(seed: 2))
        let both = try CoCaFamily.makeTask(settings: cocaSettings(seed: 2, image: file, text: file))
        var compared = 0
        for p in fresh.parameters.parameters where values(source, p.name) != p.value.values {
            let tower = p.name.hasPrefix("visual.") || p.name.hasPrefix("text.")
            XCTAssertEqual(values(both, p.name), tower ? values(source, p.name) : p.value.values, p.name)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 40)
        XCTAssertEqual(values(both, "visual.attn_pool.query"), values(source, "visual.attn_pool.query"))
        XCTAssertEqual(values(both, "text.cls_emb"), values(source, "text.cls_emb"))
    }

    func testAMismatchIsAnErrorNamingTheKey() throws {
        var clipSettings = Settings()
        clipSettings.model = try clipConfig(textContext: 16)
        let clip = try CLIPFamily.makeTask(settings: clipSettings)
        let file = try save(clip.parameters, "clip16.safetensors")
        XCTAssertThrowsError(try CoCaFamily.makeTask(settings: cocaSettings(seed: 2, text: file))) {
            XCTAssertTrue("\($0)".contains("tensor positional_embedding has shape [16, 24], parameter text.positional_embedding needs [17, 24]"), "\($0)")
        }
        // An image tower without a trunk tensor (here: a text-only file) names the first key it lacks.
        let textOnly = ParameterStore()
        let builder = ParameterBuilder(store: textOnly, seed: 0)
        _ = builder.parameter("positional_embedding", [17, 24], .zeros)
        textOnly.seal()
        let partial = try save(textOnly, "text-only.safetensors")
        XCTAssertThrowsError(try CoCaFamily.makeTask(settings: cocaSettings(seed: 2, image: partial))) {
            XCTAssertTrue("\($0)".contains("has no tensor visual.conv1.weight for parameter visual.conv1.weight"), "\($0)")
        }
    }
}
