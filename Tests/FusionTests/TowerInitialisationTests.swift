import Foundation
import NN
import TensorCore
import TrainingKit
import XCTest
@testable import Fusion

/// `--init-image` / `--init-text`: the encoders start from OpenCLIP's key layout (CLIP: text tower at the root; CoCa and
/// fusion: under `text.`), the head keeps its own random start.
final class TowerInitialisationTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fusion-init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The source model's encoders written under OpenCLIP's keys: `text.` dropped for a CLIP layout.
    func writeSource(_ source: FusionModel, clipLayout: Bool) throws -> String {
        let file = folder.appendingPathComponent(clipLayout ? "clip.safetensors" : "coca.safetensors").path
        let tensors = source.parameters.parameters.compactMap { p -> (name: String, tensor: Tensor)? in
            if p.name.hasPrefix("visual.") { return (p.name, p.value) }
            if p.name.hasPrefix("text.") { return (clipLayout ? String(p.name.dropFirst(5)) : p.name, p.value) }
            return nil
        }
        try Safetensors.write(tensors, to: file)
        return file
    }

    func testEncodersLoadFromCLIPAndCoCaLayoutsAndTheHeadStaysFresh() throws {
        for kind in [FusionKind.gated, .early] {
            let source = TinyFusion.task(kind, seed: 1).model
            for clipLayout in [true, false] {
                let file = try writeSource(source, clipLayout: clipLayout)
                for (image, text) in [(true, false), (false, true), (true, true)] {
                    let fresh = TinyFusion.task(kind, seed: 2).model
                    let target = TinyFusion.task(kind, seed: 2).model
                    var settings = Settings()
                    settings.initImage = image ? file : ""
                    settings.initText = text ? file : ""
                    try FusionFamily.loadPretrainedTowers(into: target, settings: settings)
                    var loaded = 0
                    for p in target.parameters.parameters {
                        let fromSource = (p.name.hasPrefix("visual.") && image) || (p.name.hasPrefix("text.") && text)
                        let expected = fromSource ? source.parameters[p.name]! : fresh.parameters[p.name]!
                        XCTAssertEqual(Array(p.value.values), Array(expected.value.values), "\(kind) \(p.name) clip layout \(clipLayout)")
                        if fromSource && source.parameters[p.name]!.value.values != fresh.parameters[p.name]!.value.values { loaded += 1 }
                    }
                    XCTAssertGreaterThan(loaded, 3, "\(kind): some seed-dependent encoder parameters must have come from the source")
                }
            }
        }
    }

    func testATowerTheModelLacksOrAMisfitSourceIsAnError() throws {
        let source = TinyFusion.task(.late, seed: 1).model
        let file = try writeSource(source, clipLayout: true)
        var settings = Settings()
        settings.initImage = file
        settings.modalities = "text"
        let textOnly = TinyFusion.task(.late, modalities: [.text]).model
        XCTAssertThrowsError(try FusionFamily.loadPretrainedTowers(into: textOnly, settings: settings)) {
            XCTAssertTrue("\($0)".contains("has no image encoder"), "\($0)")
        }
        // A source whose projection has another width: the error names the key and both shapes.
        var towers = TinyFusion.towers
        towers.visionOutputDim = 9
        let wider = FusionModel(config: FusionModelConfig(fusion: .late, modalities: [.image, .text], classes: 3, towers: towers))
        settings.modalities = "image,text"
        XCTAssertThrowsError(try FusionFamily.loadPretrainedTowers(into: wider, settings: settings)) {
            XCTAssertTrue("\($0)".contains("visual.proj"), "\($0)")
        }
    }
}
