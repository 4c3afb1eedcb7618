@testable import Fusion
import TrainingKit
import XCTest

/// A label outside `--num-classes` stops training with an error naming the sample: its key in the data set (a shard's
/// `shard:key`, a CSV row's image) and its global index.
final class LabelRangeTests: XCTestCase {
    final class OneBatch: TrainingDataSource {
        let batch: TaskBatch
        init(_ batch: TaskBatch) { self.batch = batch }
        var samplesPerEpoch: Int { 4 }
        func seek(samplesSeen: Int) {}
        func next() -> TaskBatch { batch }
    }

    func testALabelOutsideTheClassesNamesTheSample() throws {
        let batch = TaskBatch(count: 2, integers: ["label": [1, 5]], keys: ["shard-0.tar:a", "shard-0.tar:b"])
        let data = SampleIndexedData(base: OneBatch(batch), rank: 1, worldSize: 2, classes: 3, labelField: "label")
        XCTAssertThrowsError(try data.next()) {
            XCTAssertEqual("\($0)", "shard-0.tar:b (sample 3): label 5 is outside the 3 classes of --num-classes")
        }
        let unkeyed = SampleIndexedData(base: OneBatch(TaskBatch(count: 2, integers: ["label": [-1, 0]])), rank: 0, worldSize: 1,
                                        classes: 3, labelField: "label")
        XCTAssertThrowsError(try unkeyed.next()) { XCTAssertEqual("\($0)", "sample 0: label -1 is outside the 3 classes of --num-classes") }
        let fine = SampleIndexedData(base: OneBatch(TaskBatch(count: 2, integers: ["label": [2, 0]])), rank: 0, worldSize: 1,
                                     classes: 3, labelField: "label")
        XCTAssertEqual(try fine.next().integers["sample_index"], [0, 1])
    }
}
