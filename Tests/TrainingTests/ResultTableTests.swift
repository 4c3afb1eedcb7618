import Foundation
import Training
import XCTest

/// Evaluation tables (a confusion matrix, per-class AP) are one JSON value in a results line: counts print as integers.
final class ResultTableTests: XCTestCase {
    func testTableIsAJSONArrayOfRows() throws {
        XCTAssertEqual(ResultValue.table([[3, 0], [1, 2]]).json, "[[3, 0], [1, 2]]")
        XCTAssertEqual(ResultValue.table([[0.25, -1, .nan]]).json, #"[[0.25, -1, "nan"]]"#)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tables-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try ResultsLog(path: path)
        try log.append(metrics: ["val_accuracy": 0.75], extra: ["val_confusion": .table([[3, 0], [1, 0]]), "step": 4])
        let line = try String(contentsOfFile: path, encoding: .utf8)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["val_confusion"] as? [[Int]], [[3, 0], [1, 0]])
        XCTAssertEqual(object["val_accuracy"] as? Double, 0.75)
    }
}
