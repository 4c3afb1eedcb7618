import XCTest
@testable import DataPipeline

/// Samples as named fields: WebDataset members by extension, CSV columns by key, and what happens when one is missing.
final class FieldSourceTests: XCTestCase {
    func png(_ seed: Int, width: Int = 20, height: Int = 16) throws -> [UInt8] {
        try PNGCodec.encode(gradientImage(width: width, height: height, seed: seed))
    }

    /// The `audio` member read as bytes (the audio kind decodes it; see AudioFieldTests).
    static let audioBytes = SampleField("audio", kind: .bytes)
    static let everyKind: [SampleField] = [.image, .text, .label, .labels, audioBytes, .json, SampleField("seg.png")]

    func testWebDatasetMembersBecomeFieldsByExtension() throws {
        let dir = try makeScratchDirectory(self)
        let wav = Array("RIFF....WAVEfmt ".utf8)
        try writeShard(dir + "/mixed-0.tar", [
            ("a", [("jpg", try JPEGCodec.encode(gradientImage(width: 24, height: 24))), ("txt", Array(" a dog \n".utf8)),
                   ("cls", Array("3\n".utf8)), ("labels", Array("1, 4 7".utf8)), ("wav", wav),
                   ("json", Array(#"{"caption": "unused: txt wins", "id": 1}"#.utf8)), ("seg.png", [9, 9])]),
            ("b", [("png", try png(1)), ("json", Array(#"{"caption": "from json"}"#.utf8)), ("cls", Array("0".utf8)),
                   ("labels", Array("[2]".utf8)), ("flac", [1, 2, 3]), ("seg.png", [7])]),
        ])
        let source = try WebDatasetSource(shardSpec: dir + "/mixed-0.tar", fields: Self.everyKind, warnings: WarningLog(limit: 0))
        XCTAssertEqual(try source.sampleCount(), 2)
        let a = try source.load(id: 0)
        XCTAssertEqual(a.key, "mixed-0.tar:a")
        XCTAssertEqual(a.caption, "a dog")
        XCTAssertEqual(a.label, 3)
        guard case .labels(let set) = a.values["labels"], case .bytes(let audio) = a.values["audio"],
              case .bytes(let extra) = a.values["seg.png"], case .bytes(let json) = a.values["json"] else {
            return XCTFail("\(a.values)")
        }
        XCTAssertEqual(set, [1, 4, 7])
        XCTAssertEqual(audio, wav)
        XCTAssertEqual(extra, [9, 9])
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\"id\": 1"))
        let b = try source.load(id: 1)
        XCTAssertEqual(b.caption, "from json")  // no .txt: the JSON caption stands in
        XCTAssertEqual(try b.decodedImage().width, 20)

        let options = LoaderOptions(mode: .evaluation, batchSize: 2, transform: ImageTransform(mode: .eval, size: 8), contextLength: 6,
                                    workers: 0)
        let (batch, _) = try XCTUnwrap(try DataLoader(source: source, tokenizer: WordHashTokenizer(), options: options).next())
        XCTAssertEqual(batch.fields.images[.image]?.count, 2 * 3 * 8 * 8)
        XCTAssertEqual(batch.tokens.count, 2 * 6)
        XCTAssertEqual(batch.captions, ["a dog", "from json"])
        XCTAssertEqual(batch.labels, [3, 0])
        XCTAssertEqual(batch.fields.labelSets[.labels]!, [[1, 4, 7], [2]])
        XCTAssertEqual(try batch.fields.multiHot(classCount: 8), [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0])
        XCTAssertThrowsError(try batch.fields.multiHot(classCount: 5)) { XCTAssertTrue("\($0)".contains("class index 7, outside 0..<5")) }
        XCTAssertEqual(batch.fields.bytes[Self.audioBytes]!, [wav, [1, 2, 3]])
        XCTAssertEqual(batch.fields.bytes[SampleField("seg.png")]!, [[9, 9], [7]])
    }

    func testSampleLackingAFieldIsSkippedWithAMessageNamingShardKeyAndField() throws {
        let dir = try makeScratchDirectory(self)
        try writeShard(dir + "/s-0.tar", [
            ("a", [("png", try png(0)), ("txt", Array("one".utf8)), ("cls", Array("1".utf8))]),
            ("b", [("png", try png(1)), ("txt", Array("two".utf8))]),
            ("c", [("png", try png(2)), ("txt", Array("three".utf8)), ("cls", Array("2".utf8))]),
        ])
        let collector = WarningCollector()
        let source = try WebDatasetSource(shardSpec: dir + "/s-0.tar", fields: [.image, .label], warnings: collector.log)
        XCTAssertEqual(try source.sampleCount(), 2)
        XCTAssertEqual(source.indexingSkipped, 1)
        XCTAssertEqual(collector.messages, ["s-0.tar:b: no field 'label' (members png, txt); sample skipped"])
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(),
                                    options: LoaderOptions(batchSize: 2, seed: 1, transform: ImageTransform(mode: .train, size: 8), workers: 0))
        let (batch, _) = try XCTUnwrap(try loader.next())
        XCTAssertEqual(Set(batch.labels), [1, 2])
        XCTAssertEqual(batch.tokens, [])  // text was not asked for
        XCTAssertEqual(loader.skippedSamples, 1)
    }

    func testFieldAbsentFromAWholeShardStopsTheRun() throws {
        let dir = try makeScratchDirectory(self)
        for s in 0..<2 {
            try writeShard(dir + "/t-\(s).tar", (0..<3).map { i in ("k\(i)", [("png", try! png(i)), ("txt", Array("x".utf8))]) })
        }
        let collector = WarningCollector()
        let source = try WebDatasetSource(shardSpec: dir + "/t-{0..1}.tar", fields: [.image, .text, .label], warnings: collector.log)
        let expected = "t-0.tar: no sample has field 'label' (3 sample(s) with members png, txt)"
        XCTAssertThrowsError(try source.sampleCount()) { XCTAssertEqual("\($0)", expected) }
        XCTAssertEqual(collector.messages, [])  // one error, not a warning per sample
        // With an epoch length the shards are indexed lazily: the loader stops at the first batch, it does not substitute.
        let options = LoaderOptions(batchSize: 2, epochLength: 100, transform: ImageTransform(mode: .train, size: 8), workers: 0,
                                    warnings: collector.log)
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(), options: options)
        XCTAssertThrowsError(try loader.next()) { XCTAssertTrue("\($0)".hasPrefix("t-"), "\($0)"); XCTAssertTrue("\($0)".contains("no sample has field 'label'")) }
        XCTAssertEqual(collector.messages, [])
    }

    func testMalformedLabelIsABadSample() throws {
        let dir = try makeScratchDirectory(self)
        try writeShard(dir + "/m-0.tar", [("a", [("png", try png(0)), ("cls", Array("cat".utf8))]),
                                          ("b", [("png", try png(1)), ("cls", Array("4".utf8))])])
        let source = try WebDatasetSource(shardSpec: dir + "/m-0.tar", fields: [.image, .label])
        XCTAssertThrowsError(try source.load(id: 0)) {
            XCTAssertEqual("\($0)", #"m-0.tar:a: malformed sample: field 'label' is "cat", expected a class index (a non-negative integer)"#)
        }
        let options = LoaderOptions(mode: .evaluation, batchSize: 2, transform: ImageTransform(mode: .eval, size: 8), workers: 0,
                                    warnings: WarningLog(limit: 0))
        let (batch, _) = try XCTUnwrap(try DataLoader(source: source, tokenizer: WordHashTokenizer(), options: options).next())
        XCTAssertEqual(batch.labels, [4])
        XCTAssertEqual(batch.skipped, 1)
    }

    func testCSVLabelAndLabelsColumnsAndEmptyCells() throws {
        let dir = try makeScratchDirectory(self)
        for name in ["a", "b", "c"] { try writeWholeFile(dir + "/\(name).png", try png(name.count)) }
        try writeWholeFile(dir + "/a.wav", pcm16WAV(tone(seconds: 0.5, rate: 16000), rate: 16000))
        try writeTextFile(dir + "/d.csv", "path,caption,cls,tags,sound\na.png,first,2,\"0,5\",a.wav\nb.png,second,,1,a.wav\nc.png,,1,3 4,a.wav\n")
        let collector = WarningCollector()
        var options = DataSourceOptions(data: dir + "/d.csv", csvSeparator: ",", fields: [.image, .text, .label, .labels, .audio],
                                        csvKeys: [.label: "cls", .labels: "tags", .audio: "sound"])
        options.csvImageKey = "path"
        options.csvCaptionKey = "caption"
        let source = try options.makeSource(warnings: collector.log)
        XCTAssertEqual(try source.sampleCount(), 2)
        XCTAssertEqual(source.indexingSkipped, 1)
        XCTAssertEqual(collector.messages, ["\(dir)/d.csv:3 \(dir)/b.png: no field 'label' (column 'cls' is empty); sample skipped"])
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(),
                                    options: LoaderOptions(mode: .evaluation, batchSize: 4, transform: ImageTransform(mode: .eval, size: 8),
                                                           workers: 0))
        let (batch, _) = try XCTUnwrap(try loader.next())
        XCTAssertEqual(batch.captions, ["first", ""])  // an empty caption is a caption
        XCTAssertEqual(batch.labels, [2, 1])
        XCTAssertEqual(batch.fields.labelSets[.labels]!, [[0, 5], [3, 4]])
        let spectrograms = try XCTUnwrap(batch.fields.spectrograms[.audio])
        XCTAssertEqual(spectrograms.count, 2 * 128 * 204)
        XCTAssertEqual(Array(spectrograms[0..<(128 * 204)]), Array(spectrograms[(128 * 204)...]))  // the same recording twice
        XCTAssertEqual(batch.keys, [dir + "/a.png", dir + "/c.png"])
    }

    func testCSVFieldErrorsNameFileColumnAndField() throws {
        let dir = try makeScratchDirectory(self)
        try writeTextFile(dir + "/e.tsv", "filepath\ttitle\tlabel\na.png\tx\t\nb.png\ty\t\n")
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/e.tsv", fields: [.image, .label])) {
            XCTAssertEqual("\($0)", "\(dir)/e.tsv: no sample has field 'label' (column 'label' is empty in all 2 rows)")
        }
        XCTAssertThrowsError(try CSVSource(csvSpec: dir + "/e.tsv", fields: [.image, .labels])) {
            XCTAssertEqual("\($0)", "\(dir)/e.tsv:1: malformed CSV: no column 'labels' for field labels (columns: filepath, title, label)")
        }
        try writeTextFile(dir + "/f.tsv", "filepath\ttitle\tlabel\na.png\tx\tseven\n")
        let source = try CSVSource(csvSpec: dir + "/f.tsv", fields: [.text, .label])
        XCTAssertThrowsError(try source.load(id: 0)) { XCTAssertTrue("\($0)".hasPrefix("\(dir)/f.tsv:2: malformed sample: field 'label'"), "\($0)") }
    }

    func testLoaderAndSyntheticRejectFieldsTheSourceLacks() throws {
        let synthetic = SyntheticShapes(trainCount: 8).source(.train)
        XCTAssertThrowsError(try DataLoader(source: synthetic, tokenizer: WordHashTokenizer(),
                                            options: LoaderOptions(batchSize: 2, transform: ImageTransform(mode: .train, size: 8), fields: [.image, .audio]))) {
            XCTAssertEqual("\($0)", "synthetic shapes (train): 8 samples, 32 px: no sample has field 'audio' (its samples have image, text, label)")
        }
        XCTAssertThrowsError(try DataSourceOptions(synthetic: SyntheticShapes(trainCount: 8), fields: [.image, .labels]).makeSource())
        // Asking for fewer fields than the source has is fine: image + label for classification.
        let loader = try DataLoader(source: synthetic, tokenizer: WordHashTokenizer(),
                                    options: LoaderOptions(batchSize: 4, transform: ImageTransform(mode: .train, size: 8), workers: 0,
                                                           fields: [.image, .label]))
        let batch = try loader.buildBatch(0)
        XCTAssertEqual(batch.labels, batch.keys.map { Int($0.split(separator: "-").last!)! % 20 })  // id = key suffix, label = id mod 20
        XCTAssertEqual(batch.fields.tokens.count, 0)
    }

    func testASecondImageFieldGetsTheSameCropAndTheDefaultViewSharesBuffers() throws {
        let dir = try makeScratchDirectory(self)
        try writeShard(dir + "/p-0.tar", (0..<3).map { i in
            ("k\(i)", [("png", try! png(i, width: 40, height: 30)), ("mask.png", try! png(i, width: 40, height: 30)), ("txt", Array("t".utf8))])
        })
        let mask = SampleField("mask.png", kind: .image)
        let source = try WebDatasetSource(shardSpec: dir + "/p-0.tar", fields: [.image, mask, .text])
        let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(),
                                    options: LoaderOptions(batchSize: 3, seed: 7, transform: ImageTransform(mode: .train, size: 12), workers: 0))
        var batch = try loader.buildBatch(0)
        XCTAssertEqual(batch.fields.images[mask], batch.images)
        XCTAssertEqual(batch.images.count, 3 * 3 * 12 * 12)
        // `images` is the field's buffer itself, not a copy, and the batch holds its only reference: writing to it in
        // place does not copy the pixels either.
        let address = batch.fields.images[.image]!.withUnsafeBufferPointer { $0.baseAddress }
        XCTAssertEqual(batch.images.withUnsafeBufferPointer { $0.baseAddress }, address)
        XCTAssertEqual(batch.fields.images[.image]!.withUnsafeMutableBufferPointer { $0.baseAddress }, address)
    }
}
