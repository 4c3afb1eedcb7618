import Foundation
@testable import Training
import XCTest

/// The results.jsonl log and the progress reporter's text.
final class MetricsLoggingTests: XCTestCase {
    func testResultsLogWritesSortedValidJSONLines() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftclip-results-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try ResultsLog(directory: directory)
        try log.append(metrics: ["image_to_text_R@1": 0.25, "clip_val_loss": .nan, "z": .infinity, "a": -.infinity],
                       extra: ["epoch": 3, "note": "say \"hi\"\n\\", "final": true])
        try log.append(["step": 10, "lr": 1e-5])
        let text = try String(contentsOfFile: log.path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[2], "")
        XCTAssertEqual(String(lines[0]), #"{"a": "-inf", "clip_val_loss": "nan", "epoch": 3, "final": true, "image_to_text_R@1": 0.25, "note": "say \"hi\"\n\\", "z": "inf"}"#)
        XCTAssertEqual(String(lines[1]), #"{"lr": 1e-05, "step": 10}"#)
        for line in lines.dropLast() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object)
        }
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(first["note"] as? String, "say \"hi\"\n\\")
        XCTAssertEqual(first["image_to_text_R@1"] as? Double, 0.25)
        // Reopening appends rather than truncating, as a resumed run needs.
        try ResultsLog(directory: directory).append(["epoch": 4])
        XCTAssertEqual(try String(contentsOfFile: log.path, encoding: .utf8).split(separator: "\n").count, 3)
    }

    func testJSONNumbersAndControlCharacters() {
        XCTAssertEqual(ResultValue.double(3).json, "3.0")
        XCTAssertEqual(ResultValue.double(1e20).json, "1e+20")
        XCTAssertEqual(ResultValue.double(-0.125).json, "-0.125")
        XCTAssertEqual(ResultValue.string("\u{01}").json, "\"\\u0001\"")
    }

    func testDurationFormatting() {
        XCTAssertEqual(ProgressFormat.duration(0), "0s")
        XCTAssertEqual(ProgressFormat.duration(59.4), "59s")
        XCTAssertEqual(ProgressFormat.duration(59.6), "1m00s")
        XCTAssertEqual(ProgressFormat.duration(185), "3m05s")
        XCTAssertEqual(ProgressFormat.duration(3599), "59m59s")
        XCTAssertEqual(ProgressFormat.duration(3600), "1h00m")
        XCTAssertEqual(ProgressFormat.duration(3725), "1h02m")
        XCTAssertEqual(ProgressFormat.duration(2 * 86400 + 3 * 3600 + 59), "2d03h")
        XCTAssertEqual(ProgressFormat.duration(nil), "--")
        XCTAssertEqual(ProgressFormat.duration(.nan), "--")
        XCTAssertEqual(ProgressFormat.duration(-1), "--")
    }

    private func snapshot(step: Int, loss: Double = 3.45678) -> ProgressSnapshot {
        ProgressSnapshot(step: step, totalSteps: 1000, epoch: 2, loss: loss, learningRate: 4.5e-4, logitScale: 14.2857,
                         samplesPerSecond: 812.34, dataWaitFraction: 0.031, secondsPerStep: 0.25)
    }

    func testProgressLineContent() {
        XCTAssertEqual(ProgressFormat.line(snapshot(step: 120)),
                       "step 120/1000 (12.0%) | epoch 2 | loss 3.4568 | lr 4.50e-04 | scale 14.29 | 812.3 samples/s | data 3.1% | ETA 3m40s")
        XCTAssertTrue(ProgressFormat.line(snapshot(step: 1, loss: .nan)).contains("loss nan"))
        XCTAssertEqual(snapshot(step: 1000).etaSeconds, 0)
        XCTAssertEqual(ProgressFormat.fitted("abcdef", width: 4), "abc")
        XCTAssertEqual(ProgressFormat.fitted("abc", width: nil), "abc")
    }

    func testPlainLogPrintsEveryNthStep() {
        var output: [String] = []
        let reporter = ProgressReporter(interactive: false, logEvery: 10, write: { output.append($0) }, now: { 1_800_000_000 })
        for step in 1...25 { reporter.update(ProgressSnapshot(step: step, totalSteps: 25, epoch: 0, loss: 1, learningRate: 1e-3,
                                                            logitScale: 10, samplesPerSecond: 1, dataWaitFraction: 0, secondsPerStep: 1)) }
        XCTAssertEqual(output.map { $0.split(separator: " ")[2] }, ["1/25", "10/25", "20/25", "25/25"])
        XCTAssertTrue(output[0].hasPrefix("2027-01-15T08:00:00Z step 1/25 "), output[0])
        XCTAssertFalse(output.joined().contains("\r"))
        reporter.message("eval: R@1 0.5")
        XCTAssertEqual(output.last, "2027-01-15T08:00:00Z eval: R@1 0.5\n")
    }

    func testTerminalLineIsRedrawnInPlaceAndMessagesDoNotGarbleIt() {
        var output: [String] = []
        var clock = 0.0
        let reporter = ProgressReporter(interactive: true, minimumRefreshInterval: 0.2, write: { output.append($0) }, now: { clock })
        reporter.update(snapshot(step: 1))
        clock = 0.1
        reporter.update(snapshot(step: 2))  // too soon: skipped
        clock = 0.3
        reporter.update(snapshot(step: 3))
        XCTAssertEqual(output.count, 2)
        XCTAssertTrue(output[1].hasPrefix("\rstep 3/1000 "))
        XCTAssertTrue(output[1].hasSuffix("\u{1B}[K"))
        reporter.message("warning: x")
        XCTAssertEqual(output[2], "\r\u{1B}[Kwarning: x\n")
        XCTAssertTrue(output[3].hasPrefix("\rstep 3/1000 "))
        reporter.update(snapshot(step: 1000))  // the last step is always drawn
        reporter.finish()
        XCTAssertEqual(output.last, "\n")
    }
}

/// The smoothed throughput behind the progress line.
final class MetricsThroughputTests: XCTestCase {
    func testMeanWhileYoungThenExponentialAverage() {
        var meter = ThroughputMeter(smoothing: 0.25)
        XCTAssertTrue(meter.secondsPerStep.isNaN)
        meter.record(stepSeconds: 2, dataWaitSeconds: 1, samples: 100)
        XCTAssertEqual(meter.secondsPerStep, 2)
        meter.record(stepSeconds: 4, dataWaitSeconds: 0, samples: 100)
        XCTAssertEqual(meter.secondsPerStep, 3)          // mean of 2 and 4
        meter.record(stepSeconds: 6, dataWaitSeconds: 0, samples: 100)
        XCTAssertEqual(meter.secondsPerStep, 4)          // mean of three
        meter.record(stepSeconds: 4, dataWaitSeconds: 0, samples: 100)
        XCTAssertEqual(meter.secondsPerStep, 4)          // weight 1/4
        meter.record(stepSeconds: 8, dataWaitSeconds: 2, samples: 100)
        XCTAssertEqual(meter.secondsPerStep, 5)          // 4 + 0.25 · (8 − 4)
        XCTAssertEqual(meter.samplesPerSecond, 20)
        // Waits 1, 0, 0, 0 average to 0.25; then 0.25 + 0.25 · (2 − 0.25).
        XCTAssertEqual(meter.dataWaitFraction, 0.6875 / 5, accuracy: 1e-12)
    }
}
