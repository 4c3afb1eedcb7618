import Foundation
import Training
import TrainingKit
import XCTest

/// Every registered setting, set to a value other than its default, survives recipe.yaml and the command line.
final class SettingsRoundTripTests: XCTestCase {
    /// Texts tried in order for each setting; the first one the setting accepts and that differs from its default is used.
    /// A setting of a new kind that accepts none of them fails the test, which is the prompt to add one here.
    static let candidates = ["3", "5", "0.5", "true", "false", "random", "both", "clip-bpe", "const-cooldown", "tensorboard", "1", "bf16", "gated", "learned", "text", "unimodal",
                             "custom text: with a colon", "scale=(0.5,1.0) gray_scale_prob=0.2", "22050", "gain_db=6 time_mask=20", #"[{"name": "warm", "steps": 2, "train": ["visual."]}, {"name": "rest", "lr": 1e-5}]"#]

    /// Settings with a single allowed value so far (one modality can be bound), which no candidate can change.
    static let singleValued: Set<String> = ["bind-modality"]

    /// The settings `task` reads that can hold a value other than their default.
    func changeable(_ task: String) -> [AnySetting] {
        Families.registry.all.filter { $0.name != "task" && !Self.singleValued.contains($0.name) && ($0.families?.contains(task) ?? true) }
    }

    func nonDefaultSettings(task: String) throws -> Settings {
        var settings = Settings()
        settings.task = task
        for setting in changeable(task) {
            let text = Self.candidates.first { candidate in
                var probe = settings
                guard (try? Families.registry.apply(setting.name, candidate, to: &probe)) != nil else { return false }
                return probe.recorded[setting.name] != nil
            }
            guard let text else { XCTFail("no non-default candidate value for --\(setting.name)"); continue }
            try Families.registry.apply(setting.name, text, to: &settings)
        }
        return settings
    }

    func testEveryNonDefaultSettingReadsBackFromTheResolvedRecipe() throws {
        for task in Families.registry.families {
            let settings = try nonDefaultSettings(task: task)
            XCTAssertEqual(Set(settings.recorded.keys), Set(changeable(task).map(\.name) + (task == "clip" ? [] : ["task"])),
                           "every setting of \(task) holds a non-default value")
            let path = NSTemporaryDirectory() + "roundtrip-\(task)-\(UUID().uuidString).yaml"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Families.registry.recipe(of: settings).write(toFile: path, atomically: true, encoding: .utf8)
            let reread = try Families.settings(arguments: ["--config", path])
            XCTAssertEqual(reread.recorded, settings.recorded)
            XCTAssertEqual(reread, settings)
        }
    }

    func testEveryNonDefaultSettingReadsBackFromFlags() throws {
        let settings = try nonDefaultSettings(task: "clip")
        let arguments = settings.recorded.sorted { $0.key < $1.key }.flatMap { ["--\($0.key)", $0.value] }
        XCTAssertEqual(try Families.settings(arguments: arguments), settings)
    }

    /// The resolved recipe of a run with --recompute-mlp-blocks is accepted by --config (it once was not).
    func testRecomputeMLPBlocksRecipe() throws {
        let settings = try Families.settings(arguments: ["--recompute-mlp-blocks", "2", "--grad-checkpointing-blocks", "1"])
        let path = NSTemporaryDirectory() + "recompute-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Families.registry.recipe(of: settings).write(toFile: path, atomically: true, encoding: .utf8)
        let reread = try Families.settings(arguments: ["--config", path])
        XCTAssertEqual(reread.recomputeMlpBlocks, 2)
        XCTAssertEqual(reread.checkpointedBlocksPerTower, 1)
    }

    /// OpenCLIP's command-line forms work unchanged: bare switches, and its names for the loss options.
    func testOpenCLIPCommandLine() throws {
        let settings = try Families.settings(arguments: ["--lock-image", "--grad-checkpointing", "--local-loss", "--gather-with-grad",
                                                         "--batch-size", "16", "--lr=5e-4", "--deterministic"])
        XCTAssertTrue(settings.lockImage)
        XCTAssertTrue(settings.gradCheckpointing)
        XCTAssertTrue(settings.deterministic)
        XCTAssertEqual(settings.batchSize, 16)
    }
}
