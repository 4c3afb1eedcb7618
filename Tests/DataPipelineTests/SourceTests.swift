import XCTest
@testable import DataPipeline

/// Builds small WebDataset shards and CSV folders with real PNG/JPEG files and known defects.
final class SourceTests: XCTestCase {
    /// Shard 0: 4 good samples (png/jpg, txt/json captions, one empty caption). Shard 1: a good sample, an undecodable
    /// image, a sample without caption, then a good one. Shard 2: 3 samples, truncated inside the third image.
    func makeShards(in dir: String) throws -> String {
        let w0 = try TarWriter(path: dir + "/shard-000000.tar")
        try w0.add(name: "s000.png", contents: try PNGCodec.encode(gradientImage(width: 40, height: 30, seed: 0)))
        try w0.add(name: "s000.txt", contents: Array("  a png picture \n".utf8))
        try w0.add(name: "s001.jpg", contents: try JPEGCodec.encode(gradientImage(width: 50, height: 60, seed: 1)))
        try w0.add(name: "s001.json", contents: Array(#"{"caption": "a jpeg picture", "url": "x"}"#.utf8))
        try w0.add(name: "dir/s002.seg.jpeg", contents: [1, 2, 3])  // not an image extension: ignored member
        try w0.add(name: "dir/s002.png", contents: try PNGCodec.encode(gradientImage(width: 20, height: 20, seed: 2)))
        try w0.add(name: "dir/s002.txt", contents: [])
        try w0.add(name: "s003.JPG", contents: try JPEGCodec.encode(gradientImage(width: 33, height: 33, seed: 3)))
        try w0.add(name: "s003.txt", contents: Array("upper-case extension".utf8))
        try w0.finish()

        let w1 = try TarWriter(path: dir + "/shard-000001.tar")
        try w1.add(name: "t000.png", contents: try PNGCodec.encode(gradientImage(width: 24, height: 24, seed: 4)))
        try w1.add(name: "t000.txt", contents: Array("good one".utf8))
        try w1.add(name: "t001.jpg", contents: Array("definitely not a jpeg".utf8))
        try w1.add(name: "t001.txt", contents: Array("undecodable".utf8))
        try w1.add(name: "t002.png", contents: try PNGCodec.encode(gradientImage(width: 24, height: 24, seed: 5)))
        try w1.add(name: "t003.png", contents: try PNGCodec.encode(gradientImage(width: 24, height: 24, seed: 6)))
        try w1.add(name: "t003.txt", contents: Array("last good".utf8))
        try w1.finish()

        let w2 = try TarWriter(path: dir + "/full-2.tar")
        for i in 0..<3 {
            try w2.add(name: "u\(i).png", contents: try PNGCodec.encode(gradientImage(width: 64, height: 64, seed: 10 + i)))
            try w2.add(name: "u\(i).txt", contents: Array("truncated shard sample \(i)".utf8))
        }
        try w2.finish()
        let bytes = try readWholeFile(dir + "/full-2.tar")
        let scan = try TarReader.scan(path: dir + "/full-2.tar")
        try writeWholeFile(dir + "/shard-000002.tar", Array(bytes.prefix(scan.entries[4].dataOffset + 100)))
        return dir + "/shard-{000000..000002}.tar"
    }

    func testWebDatasetIndexingGroupsKeysAndCountsDefects() throws {
        let dir = try makeScratchDirectory(self)
        let collector = WarningCollector()
        let source = try WebDatasetSource(shardSpec: try makeShards(in: dir), warnings: collector.log)
        XCTAssertEqual(source.shards.count, 3)
        // 4 + 3 (t001 is listed: its bytes are only found bad when decoded) + 2 before the damage.
        XCTAssertEqual(try source.sampleCount(), 9)
        XCTAssertEqual(source.indexingSkipped, 2)  // t002 without caption, u2 truncated
        let truncationWarnings = collector.messages.filter { $0.contains("shard-000002.tar") }
        XCTAssertEqual(truncationWarnings.count, 1, "\(collector.messages)")

        let s0 = source.index(shard: 0).members
        XCTAssertEqual(s0.map(\.key), ["s000", "s001", "dir/s002", "s003"])
        XCTAssertEqual(try source.load(id: 0).caption, "a png picture")
        XCTAssertEqual(try source.load(id: 1).caption, "a jpeg picture")
        XCTAssertEqual(try source.load(id: 2).caption, "")
        XCTAssertEqual(try source.load(id: 1).decodedImage().width, 50)
        XCTAssertEqual(try source.load(id: 3).decodedImage().width, 33)
        let bad = try source.load(id: WebDatasetSource.makeID(shard: 1, member: 1))
        XCTAssertThrowsError(try bad.decodedImage()) { XCTAssertTrue("\($0)".contains("shard-000001.tar:t001")) }
        XCTAssertEqual(try source.load(id: WebDatasetSource.makeID(shard: 2, member: 1)).caption, "truncated shard sample 1")
    }

    func testWebDatasetLoaderSkipsAndReplacesBadSamples() throws {
        let dir = try makeScratchDirectory(self)
        let collector = WarningCollector()
        let source = try WebDatasetSource(shardSpec: try makeShards(in: dir), shuffleBufferSize: 4, warnings: collector.log)
        let options = LoaderOptions(batchSize: 3, seed: 5, transform: ImageTransform(mode: .train, size: 16), contextLength: 8,
                                    workers: 1, warnings: collector.log)
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(), options: options)
        XCTAssertEqual(loader.batchCount, 3)
        var positions: [Int] = [], skipped = 0
        while let (batch, wait) = try loader.next() {
            XCTAssertEqual(batch.count, 3)
            XCTAssertEqual(batch.images.count, 3 * 3 * 16 * 16)
            XCTAssertEqual(batch.tokens.count, 3 * 8)
            XCTAssertGreaterThanOrEqual(wait, 0)
            XCTAssertFalse(batch.keys.contains { $0.hasSuffix("t001") })
            positions += batch.sampleIndices
            skipped += batch.skipped
        }
        XCTAssertEqual(positions, Array(0..<9))
        XCTAssertGreaterThanOrEqual(skipped, 1)  // t001 met at least once
        XCTAssertEqual(loader.skippedSamples, skipped + 2)
        XCTAssertTrue(collector.messages.contains { $0.contains("t001") })
    }

    func testWebDatasetOrderIsAPermutationPerPassAndSeeded() throws {
        let dir = try makeScratchDirectory(self)
        let spec = try SyntheticShapes(trainCount: 50).writeSynthetic(split: .train, to: dir, format: .webDataset(samplesPerShard: 7))
        let source = try WebDatasetSource(shardSpec: spec, shuffleBufferSize: 10)
        XCTAssertEqual(try source.sampleCount(), 50)
        let a = try source.makeOrder(seed: 1, epoch: 0, shuffle: true)
        let b = try source.makeOrder(seed: 1, epoch: 0, shuffle: true)
        let c = try source.makeOrder(seed: 1, epoch: 1, shuffle: true)
        let firstPass = try (0..<50).map { try a.sampleID(at: $0) }
        XCTAssertEqual(Set(firstPass).count, 50)
        XCTAssertEqual(try (0..<50).map { try b.sampleID(at: $0) }, firstPass)
        XCTAssertNotEqual(try (0..<50).map { try c.sampleID(at: $0) }, firstPass)
        XCTAssertNotEqual(firstPass, firstPass.sorted())
        XCTAssertEqual(Set(try (50..<100).map { try a.sampleID(at: $0) }).count, 50)  // second pass, reshuffled
    }

    func testExplicitEpochLengthIndexesShardsLazily() throws {
        let dir = try makeScratchDirectory(self)
        let spec = try SyntheticShapes(trainCount: 40).writeSynthetic(split: .train, to: dir, format: .webDataset(samplesPerShard: 10))
        let source = try WebDatasetSource(shardSpec: spec, shuffleBufferSize: 2)
        let options = LoaderOptions(batchSize: 4, epochLength: 1000, transform: ImageTransform(mode: .train, size: 8), workers: 0)
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(), options: options)
        XCTAssertEqual(loader.batchCount, 250)
        XCTAssertEqual(source.indexedShardCount, 0)
        _ = try loader.next()
        XCTAssertEqual(source.indexedShardCount, 1)
    }

    func testCSVSourceQuotedFieldsRelativePathsAndMissingImage() throws {
        let dir = try makeScratchDirectory(self)
        try makeDirectory(dir + "/img")
        try writeWholeFile(dir + "/img/a.png", try PNGCodec.encode(gradientImage(width: 10, height: 12)))
        try writeWholeFile(dir + "/img/b.jpg", try JPEGCodec.encode(gradientImage(width: 30, height: 20)))
        try writeWholeFile(dir + "/img/c.png", Array("corrupt".utf8))
        let csv = """
        id,filepath,title
        1,img/a.png,"a caption, with a comma"
        2,img/missing.png,missing file
        3,img/b.jpg,"multi
        line ""quoted"" caption"
        4,img/c.png,
        """
        try writeTextFile(dir + "/data.csv", csv + "\n")
        let source = try CSVSource(csvSpec: dir + "/data.csv", separator: ",")
        XCTAssertEqual(source.rows.map(\.caption), ["a caption, with a comma", "missing file", "multi\nline \"quoted\" caption", ""])
        XCTAssertEqual(source.rows[0].imagePath, dir + "/img/a.png")
        XCTAssertThrowsError(try source.load(id: 1)) { XCTAssertEqual("\($0)", "\(dir)/img/missing.png: file not found") }

        let collector = WarningCollector()
        let options = LoaderOptions(mode: .evaluation, batchSize: 4, transform: ImageTransform(mode: .eval, size: 8), contextLength: 6,
                                    workers: 0, warnings: collector.log)
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(), options: options)
        let (batch, _) = try XCTUnwrap(try loader.next())
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch.skipped, 2)
        XCTAssertEqual(batch.sampleIndices, [0, 2])
        XCTAssertEqual(collector.messages.count, 2)
        XCTAssertTrue(collector.messages[0].contains("missing.png"))
        XCTAssertNil(try loader.next())
    }

    func testCSVWithByteOrderMarkCRLFAndMultilineFields() throws {
        let dir = try makeScratchDirectory(self)
        try writeTextFile(dir + "/w.csv", "\u{FEFF}filepath,title\r\na.png,\"x\r\ny\"\r\n/abs/b.png,z\r\n")
        let source = try CSVSource(csvSpec: dir + "/w.csv", separator: ",")
        XCTAssertEqual(source.rows, [CSVSource.Row(imagePath: dir + "/a.png", caption: "x\r\ny"), CSVSource.Row(imagePath: "/abs/b.png", caption: "z")])
        try writeTextFile(dir + "/e.csv", "filepath,title\r\na.png,\"x\r\ny\"\r\nb.png,z\r\nc.png\r\n")
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/e.csv", separator: ",")) { XCTAssertTrue("\($0)".hasPrefix("\(dir)/e.csv:5:"), "\($0)") }
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/w.csv", separator: ",,"))
        // Several files joined with ::
        XCTAssertEqual(try CSVSource(csvSpec: dir + "/w.csv::" + dir + "/w.csv", separator: ",").rows.count, 4)
    }

    func testCSVErrorsNameTheFileAndLine() throws {
        let dir = try makeScratchDirectory(self)
        try writeTextFile(dir + "/a.tsv", "filepath\ttitle\nx.png\t\"unterminated\n")
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/a.tsv")) { XCTAssertEqual("\($0)", "\(dir)/a.tsv:2: malformed CSV: unterminated quoted field") }
        try writeTextFile(dir + "/b.tsv", "path\ttitle\nx.png\tcap\n")
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/b.tsv")) { XCTAssertTrue("\($0)".contains("no column 'filepath'")) }
        try writeTextFile(dir + "/c.tsv", "filepath\ttitle\nx.png\n")
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/c.tsv")) { XCTAssertTrue("\($0)".hasPrefix("\(dir)/c.tsv:2:")) }
        try writeTextFile(dir + "/d.tsv", "caption\tfile\nhello\tx.png\n")
        XCTAssertEqual(try CSVSource(csvSpec: dir + "/d.tsv", imageKey: "file", captionKey: "caption", separator: "\\t").rows,
                       [CSVSource.Row(imagePath: dir + "/x.png", caption: "hello")])
    }
}
