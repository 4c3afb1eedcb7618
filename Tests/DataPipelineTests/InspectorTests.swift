import XCTest
@testable import DataPipeline

final class InspectorTests: XCTestCase {
    func testInspectsCSVWithDefects() throws {
        let dir = try makeScratchDirectory(self)
        try writeWholeFile(dir + "/a.png", try PNGCodec.encode(gradientImage(width: 10, height: 20)))
        try writeWholeFile(dir + "/b.jpg", try JPEGCodec.encode(gradientImage(width: 30, height: 40)))
        try writeTextFile(dir + "/d.csv", "filepath;title\na.png;first\nb.jpg;second\ngone.png;third\n")
        let report = try DataInspector.inspect(DataSourceOptions(data: dir + "/d.csv", csvSeparator: ";"))
        XCTAssertEqual(report.sampleCount, 3)
        XCTAssertEqual(report.captions, ["first", "second"])  // the third failed to load
        XCTAssertEqual(report.skipped, 1)
        XCTAssertEqual(report.width?.min, 10)
        XCTAssertEqual(report.width?.max, 30)
        XCTAssertEqual(report.height?.mean ?? 0, 30, accuracy: 1e-9)
        XCTAssertTrue(report.description.contains("gone.png"))
    }

    func testInspectsSyntheticAndWebDataset() throws {
        let synthetic = try DataInspector.inspect(DataSourceOptions(synthetic: SyntheticShapes(imageSize: 40, trainCount: 30)), imageLimit: 10)
        XCTAssertEqual(synthetic.sampleCount, 30)
        XCTAssertEqual(synthetic.inspected, 10)
        XCTAssertEqual(synthetic.width?.mean, 40)
        XCTAssertEqual(synthetic.captions.count, 5)

        let dir = try makeScratchDirectory(self)
        let spec = try SyntheticShapes(trainCount: 12).writeSynthetic(split: .train, to: dir, format: .webDataset(samplesPerShard: 5))
        let options = DataSourceOptions(data: spec)
        XCTAssertEqual(options.resolvedType, .webdataset)
        let report = try DataInspector.inspect(options)
        XCTAssertEqual(report.sampleCount, 12)
        XCTAssertEqual(report.skipped, 0)
        XCTAssertEqual(report.captions.first, SyntheticShapes().sample(.train, index: 0).caption)
    }
}
