import Foundation
import XCTest
@testable import DataPipeline

/// A multi-label set from a sample's JSON, and samples lacking a field refused (one error naming shard and key) when a
/// consumer does not skip them.
final class IncompleteAndJSONLabelTests: XCTestCase {
    func png(_ seed: Int) throws -> [UInt8] { try PNGCodec.encode(gradientImage(width: 12, height: 12, seed: seed)) }

    func testLabelsComeFromTheJSONWhenThereIsNoLabelsMember() throws {
        let dir = try makeScratchDirectory(self)
        try writeShard(dir + "/m-0.tar", [
            ("a", [("png", try png(0)), ("txt", Array("one".utf8)), ("json", Array(#"{"labels": [3, 0], "name": "x"}"#.utf8))]),
            ("b", [("png", try png(1)), ("txt", Array("two".utf8)), ("labels", Array("2".utf8)),
                   ("json", Array(#"{"labels": [1]}"#.utf8))]),
            ("c", [("png", try png(2)), ("txt", Array("three".utf8)), ("json", Array(#"{"labels": []}"#.utf8))]),
            ("d", [("png", try png(3)), ("txt", Array("four".utf8)), ("json", Array(#"{"labels": [1.5]}"#.utf8))]),
        ])
        let source = try WebDatasetSource(shardSpec: dir + "/m-0.tar", fields: [.image, .text, .labels], warnings: WarningLog(limit: 0))
        func labels(_ id: Int) throws -> [Int]? {
            guard case .labels(let set) = try source.load(id: id).values["labels"] else { return nil }
            return set
        }
        XCTAssertEqual(try labels(0), [3, 0])
        XCTAssertEqual(try labels(1), [2])  // a .labels member wins over the JSON
        XCTAssertEqual(try labels(2), [])
        XCTAssertThrowsError(try source.load(id: 3)) {
            XCTAssertEqual("\($0)", #"m-0.tar:d: malformed sample: json "labels" holds 1.5, expected class indices"#)
        }
    }

    func testAnIncompleteSampleIsAnErrorNamingShardAndKeyUnlessSkipped() throws {
        let dir = try makeScratchDirectory(self)
        try writeShard(dir + "/s-0.tar", [
            ("a", [("png", try png(0)), ("txt", Array("one".utf8)), ("cls", Array("1".utf8))]),
            ("b", [("png", try png(1)), ("cls", Array("0".utf8))]),
            ("c", [("png", try png(2)), ("txt", Array("three".utf8)), ("cls", Array("2".utf8))]),
        ])
        let strict = try WebDatasetSource(shardSpec: dir + "/s-0.tar", fields: [.image, .text, .label], warnings: WarningLog(limit: 0),
                                          skipIncomplete: false)
        XCTAssertThrowsError(try strict.sampleCount()) {
            XCTAssertEqual("\($0)", "s-0.tar:b: no field 'text' (members png, cls); --skip-incomplete skips such samples")
            XCTAssertTrue(($0 as? DataPipelineError)?.stopsTheRun ?? false)
        }
        let skipping = try WebDatasetSource(shardSpec: dir + "/s-0.tar", fields: [.image, .text, .label], warnings: WarningLog(limit: 0))
        XCTAssertEqual(try skipping.sampleCount(), 2)
        XCTAssertEqual(skipping.indexingSkipped, 1)
    }

    func testACSVRowLackingAFieldIsAnErrorNamingFileAndLineUnlessSkipped() throws {
        let dir = try makeScratchDirectory(self)
        for name in ["a.png", "c.png"] { try Data(try png(0)).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        let csv = dir + "/pairs.csv"
        try "filepath,title,label\na.png,one,1\n,two,0\nc.png,three,\n".write(toFile: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CSVSource(csvSpec: csv, fields: [.image, .text, .label], separator: ",", warnings: WarningLog(limit: 0),
                                           skipIncomplete: false)) {
            XCTAssertEqual("\($0)", "\(csv):3: no field 'image' (column 'filepath' is empty); --skip-incomplete skips such samples")
            XCTAssertTrue(($0 as? DataPipelineError)?.stopsTheRun ?? false)
        }
        var options = DataSourceOptions(datasetType: .csv, data: csv, csvSeparator: ",", fields: [.image, .text, .label])
        options.skipIncomplete = false
        XCTAssertThrowsError(try options.makeSource(warnings: WarningLog(limit: 0))) {
            XCTAssertTrue("\($0)".hasPrefix("\(csv):3: no field 'image'"), "\($0)")
        }
        options.skipIncomplete = true
        let skipping = try XCTUnwrap(try options.makeSource(warnings: WarningLog(limit: 0)) as? CSVSource)
        XCTAssertEqual(try skipping.sampleCount(), 1)
        XCTAssertEqual(skipping.indexingSkipped, 2)
    }
}
