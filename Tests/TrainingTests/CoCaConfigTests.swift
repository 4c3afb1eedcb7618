import CoCa
import Foundation
import NN
import XCTest

/// OpenCLIP's CoCa JSON: the shipped configs load, and what SwiftCLIP cannot build is a one-line error naming the key.
final class CoCaConfigTests: XCTestCase {
    let models = FixturePaths.repository + "/cluster-configs/models"

    func testShippedConfigsLoad() throws {
        let base = try CoCaConfig.load(models + "/coca_ViT-B-32.json")
        XCTAssertEqual(base.vision.attentionalPool, AttentionalPoolerShape(queries: 256, heads: 8))
        XCTAssertEqual([base.text.contextLength, base.multimodal.contextLength, base.text.vocabSize], [76, 76, 49408])
        XCTAssertTrue(base.text.embedCls)
        let tiny = try CoCaConfig.load(models + "/coca-tiny.json")
        XCTAssertEqual(tiny, try CoCaConfig.load(FixturePaths.cocaTiny + "/config.json"))
        XCTAssertEqual(CoCaModel(config: tiny).parameters.count, 128_473)  // the fixture README's count
        XCTAssertNoThrow(try CoCaConfig.load(models + "/coca-small.json"))
        XCTAssertFalse(CoCaConfig.isCoCa(models + "/clip-tiny.json"))
    }

    func testUnsupportedKeysAreErrorsNamingThem() throws {
        let tiny = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: models + "/coca-tiny.json"))) as! [String: Any]
        func error(_ edit: (inout [String: Any]) -> Void) -> String {
            var object = tiny
            edit(&object)
            let path = NSTemporaryDirectory() + "coca-config-\(UUID().uuidString).json"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try! JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            do { _ = try CoCaConfig.load(path); return "no error" } catch { return "\(error)" }
        }
        func set(_ section: String, _ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
            { var inner = $0[section] as! [String: Any]; inner[key] = value; $0[section] = inner }
        }
        XCTAssertTrue(error(set("text_cfg", "bogus", 1)).contains("unknown key text_cfg.bogus (known: "), error(set("text_cfg", "bogus", 1)))
        XCTAssertTrue(error(set("text_cfg", "embed_cls", false)).contains("text_cfg.embed_cls = false is not supported"))
        XCTAssertTrue(error(set("vision_cfg", "attentional_pool", false)).contains("vision_cfg.attentional_pool = false is not supported"))
        XCTAssertTrue(error(set("multimodal_cfg", "width", 32)).contains("multimodal_cfg.width 32 must equal embed_dim 24"))
        XCTAssertTrue(error { $0["multimodal_cfg"] = nil }.contains("multimodal_cfg is missing"))
    }
}
