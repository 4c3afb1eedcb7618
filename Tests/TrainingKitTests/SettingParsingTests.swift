import TrainingKit
import XCTest

/// Command lines and recipe values against the engine's settings: switches, enumerations, checks and their errors.
final class SettingParsingTests: XCTestCase {
    let registry = SettingRegistry(catalogs: [EngineSettings.declared], families: ["clip"])

    func parse(_ arguments: [String]) throws -> Settings {
        var settings = Settings()
        try registry.apply(arguments: arguments, to: &settings)
        return settings
    }

    func error(_ arguments: [String]) -> String {
        do { _ = try parse(arguments); return "" } catch { return "\(error)" }
    }

    func testValuesSwitchesAndEqualsForm() throws {
        let s = try parse(["--batch-size", "32", "--lr=1e-3", "--grad-checkpointing", "--deterministic", "false",
                           "--report-to", "tensorboard", "--lr-scheduler", "const-cooldown", "--max-steps", "7"])
        XCTAssertEqual(s.batchSize, 32)
        XCTAssertEqual(s.lr, 1e-3)
        XCTAssertTrue(s.gradCheckpointing)
        XCTAssertFalse(s.deterministic)
        XCTAssertEqual(s.reportTo, [.tensorboard])
        XCTAssertEqual(s.lrScheduler, .constCooldown)
        XCTAssertEqual(s.maxSteps, 7)
        XCTAssertNil(s.trainData)
    }

    func testBareSwitchBeforeAnotherFlag() throws {
        let s = try parse(["--grad-checkpointing", "--batch-size", "8"])
        XCTAssertTrue(s.gradCheckpointing)
        XCTAssertEqual(s.batchSize, 8)
    }

    func testEnumerationErrorListsAcceptedValues() {
        XCTAssertEqual(error(["--dataset-type", "parquet"]), "--dataset-type: 'parquet' is not one of synthetic, webdataset, csv, auto, random")
        XCTAssertTrue(error(["--report-to", "wandb"]).contains("tensorboard, none"))
        XCTAssertTrue(error(["--tokenizer", "sentencepiece"]).contains("auto, clip-bpe, builtin"))
    }

    func testChecksNameTheFlag() {
        XCTAssertEqual(error(["--seed", "-1"]), "--seed: '-1' is not a non-negative integer")
        XCTAssertEqual(error(["--batch-size", "0"]), "--batch-size must be positive, got 0")
        XCTAssertEqual(error(["--checkpoint-compression-level", "30"]), "--checkpoint-compression-level must be in 1...19, got 30")
        XCTAssertTrue(error(["--batch-sizes", "3"]).hasPrefix("unknown setting --batch-sizes (did you mean --batch-size"))
        XCTAssertEqual(error(["--lr"]), "--lr needs a value (a number)")
    }

    func testDefaultsAreNotRecorded() throws {
        var s = try parse(["--batch-size", "64", "--epochs", "3"])
        XCTAssertEqual(s.recorded, ["epochs": "3"])
        s.epochs = 1
        XCTAssertEqual(s, Settings())
    }

    func testStagesParseAndExplainErrors() throws {
        let s = try parse(["--stages", #"[{"name": "head", "train": "visual.proj", "steps": 5}, {"lr": 1e-5, "schedule": "const"}]"#])
        XCTAssertEqual(s.stages.stages.map(\.name), ["head", "stage2"])
        XCTAssertEqual(s.stages.stages[0].train, ["visual.proj"])
        XCTAssertEqual(s.stages.stages[1].schedule, .const)
        XCTAssertEqual(error(["--stages", #"[{"name": "a", "step": 5}]"#]),
                       "--stages: stage 1: unknown key 'step' (known: freeze, lr, name, plateau, samples, schedule, settings, steps, train, warmup)")
    }

    func testRecipeFileWithListsAndNestedStages() throws {
        let path = NSTemporaryDirectory() + "recipe-\(UUID().uuidString).yaml"
        try """
        batch-size: 16
        report-to: [tensorboard]
        grad-checkpointing: true
        stages:
          - name: warm
            steps: 2
          - name: rest
        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let s = try parse(["--config", path, "--batch-size", "4"])
        XCTAssertEqual(s.batchSize, 4, "flags override the recipe")
        XCTAssertEqual(s.reportTo, [.tensorboard])
        XCTAssertTrue(s.gradCheckpointing)
        XCTAssertEqual(s.stages.stages.map(\.name), ["warm", "rest"])
        try "batch-size: many\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(error(["--config", path]), "\(path): --batch-size: 'many' is not an integer")
    }
}

/// A family's settings are refused for runs of another family, and unknown families are named.
final class FamilySettingTests: XCTestCase {
    struct CaptionSettings: SettingCatalog {
        var families: [String]? { ["captioner"] }
        let beamWidth = Setting("beam-width", 1, help: "Beams.", check: SettingCheck.positive)
    }

    func testSettingsOfAnotherFamilyAreRefused() throws {
        let registry = SettingRegistry(catalogs: [EngineSettings.declared, CaptionSettings()], families: ["clip", "captioner"])
        var settings = Settings()
        try registry.apply(arguments: ["--beam-width", "4"], to: &settings)
        XCTAssertThrowsError(try registry.checkFamily(of: settings)) {
            XCTAssertEqual("\($0)", "--beam-width is a setting of captioner, not of --task clip")
        }
        try registry.apply(arguments: ["--task", "captioner"], to: &settings)
        XCTAssertNoThrow(try registry.checkFamily(of: settings))
        XCTAssertTrue(registry.recipe(of: settings).contains("beam-width: 4"))
        try registry.apply(arguments: ["--task", "vqa"], to: &settings)
        XCTAssertThrowsError(try registry.checkFamily(of: settings)) {
            XCTAssertEqual("\($0)", "--task: 'vqa' is not a registered model family (known: clip, captioner)")
        }
    }
}

/// `--aug-cfg` in OpenCLIP's forms: several arguments after the flag, one string, or a recipe mapping.
final class AugmentationSettingTests: XCTestCase {
    let registry = SettingRegistry(catalogs: [EngineSettings.declared], families: ["clip"])

    func testOpenCLIPArgumentsUpToTheNextFlag() throws {
        var settings = Settings()
        try registry.apply(arguments: ["--aug-cfg", "scale=(0.5, 1.0)", "color_jitter=(0.4,0.4,0.4,0.1)", "color_jitter_prob=0.8",
                                       "gray_scale_prob=0.2", "--batch-size", "8"], to: &settings)
        let config = settings.augCfg.config
        XCTAssertEqual(config.scale, 0.5...1.0)
        XCTAssertEqual(config.grayscaleProbability, 0.2)
        XCTAssertEqual(config.colorJitterProbability, 0.8)
        XCTAssertNotNil(config.colorJitter)
        XCTAssertEqual(settings.batchSize, 8)
        XCTAssertTrue(registry.recipe(of: settings).contains("aug-cfg: "))
    }

    func testRecipeMappingAndNone() throws {
        let path = NSTemporaryDirectory() + "aug-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "aug-cfg: {scale: [0.6, 1.0], gray_scale_prob: 0.5}\n".write(toFile: path, atomically: true, encoding: .utf8)
        var settings = Settings()
        try registry.apply(recipe: path, to: &settings)
        XCTAssertEqual(settings.augCfg.config.scale, 0.6...1.0)
        XCTAssertEqual(settings.augCfg.config.grayscaleProbability, 0.5)
        try registry.apply(arguments: ["--aug-cfg", "none"], to: &settings)
        XCTAssertTrue(settings.augCfg.config.evaluationPreprocessing)
    }

    func testUnknownKeyListsTheAcceptedOnes() {
        var settings = Settings()
        XCTAssertThrowsError(try registry.apply(arguments: ["--aug-cfg", "scal=0.5,1"], to: &settings)) {
            XCTAssertTrue("\($0)".contains("unknown key 'scal' (accepted keys: scale, ratio, color_jitter, color_jitter_prob, gray_scale_prob"), "\($0)")
        }
    }
}
