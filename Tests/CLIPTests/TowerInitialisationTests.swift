import CLIP
import Foundation
import NN
import TrainingKit
import XCTest

final class TowerInitialisationTests: XCTestCase {
    func testInitImageAndInitTextLoadOneTowerEachFromAnotherRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tower-init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        var settings = Settings()
        settings.model = FixturePaths.clipTiny + "/config.json"
        settings.seed = 1
        let source = try CLIPFamily.makeTask(settings: settings)
        let file = folder.appendingPathComponent("source.safetensors").path
        try source.parameters.save(safetensors: file)

        settings.seed = 2
        let fresh = try CLIPFamily.makeTask(settings: settings)
        settings.initImage = file
        let imageOnly = try CLIPFamily.makeTask(settings: settings)
        settings.initImage = ""
        settings.initText = file
        let textOnly = try CLIPFamily.makeTask(settings: settings)

        var checkedImage = 0, checkedText = 0
        // Only parameters whose initial values depend on the seed tell where a value came from (not layer-norm gains).
        for p in source.parameters.parameters where p.value.values != fresh.parameters[p.name]!.value.values {
            let isImage = p.name.hasPrefix("visual."), isText = OpenCLIPTowerKeys.isCLIPText(p.name)
            let fromSource = p.value.values
            XCTAssertEqual(imageOnly.parameters[p.name]!.value.values == fromSource, isImage, p.name)
            XCTAssertEqual(textOnly.parameters[p.name]!.value.values == fromSource, isText, p.name)
            if isImage { checkedImage += 1 }
            if isText { checkedText += 1 }
        }
        XCTAssertGreaterThan(checkedImage, 5)
        XCTAssertGreaterThan(checkedText, 5)

        settings.initText = folder.appendingPathComponent("missing.sclip").path
        XCTAssertThrowsError(try CLIPFamily.makeTask(settings: settings)) {
            XCTAssertTrue("\($0)".contains("missing.sclip: no such checkpoint"), "\($0)")
        }
    }
}
