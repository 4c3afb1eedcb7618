import Foundation
@testable import Training
import TrainingKit
import XCTest

/// Outputs that cannot be written and settings that cannot work stop the run with one line, instead of being skipped.
final class RunOutputErrorTests: XCTestCase {
    func record(step: Int) -> StepRecord {
        StepRecord(step: step, totalSteps: 10, epoch: 0, samplesSeen: step * 8, stage: 0, stageName: "all", loss: 1, gradientNorm: 1,
                   learningRate: 1e-3, taskMetrics: [:], stepSeconds: 0.1, dataWaitSeconds: 0, communicationWaitSeconds: 0,
                   samplesPerSecond: 80, applied: true)
    }

    /// results.jsonl on a full disk (/dev/full accepts the open and fails every write).
    func testAFailedResultsWriteIsAnErrorNamingTheFile() throws {
        let directory = NSTemporaryDirectory() + "full-disk-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/results.jsonl", withDestinationPath: "/dev/full")
        let outputs = try RunOutputs(directory: directory, settings: Settings())
        XCTAssertThrowsError(try outputs.log(record(step: 1), every: 1)) {
            XCTAssertTrue("\($0)".hasPrefix("\(directory)/results.jsonl: write failed"), "\($0)")
        }
    }

    /// Files given without `--dataset-type` (default synthetic) would train on the built-in shapes instead.
    func testTrainDataWithSyntheticDatasetTypeIsRefused() throws {
        var settings = Settings()
        settings.trainData = "data/emoji/train-{000..003}.tar"
        XCTAssertThrowsError(try EngineValidation.check(settings)) {
            XCTAssertEqual("\($0)", "--train-data data/emoji/train-{000..003}.tar is not read by --dataset-type synthetic (the default is synthetic): give --dataset-type webdataset, csv or auto")
        }
        settings.datasetType = .webdataset
        XCTAssertNoThrow(try EngineValidation.check(settings))
    }

    func testAPlateauOnAMetricNoEvaluationProducesIsRefused() throws {
        var settings = Settings()
        settings.stages = try StageList.parseExplaining(#"[{"name": "a", "plateau": {"metric": "val_bleu4", "patience": 2}}, {"name": "b"}]"#)
        XCTAssertThrowsError(try EngineValidation.checkPlateauMetrics(settings, available: ["clip_val_loss"])) {
            XCTAssertEqual("\($0)", "stage a: plateau metric 'val_bleu4' is not produced by any evaluation of this run (known: clip_val_loss)")
        }
        XCTAssertNoThrow(try EngineValidation.checkPlateauMetrics(settings, available: ["val_bleu4"]))
    }
}
