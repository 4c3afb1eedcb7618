import XCTest
@testable import DataPipeline

final class LoaderTests: XCTestCase {
    let tokenizer = WordHashTokenizer()

    func options(world: Int, rank: Int, globalBatch: Int, start: Int = 0, workers: Int = 0, epochLength: Int? = nil) -> LoaderOptions {
        LoaderOptions(batchSize: globalBatch / world, worldSize: world, rank: rank, seed: 42, epoch: 3, epochLength: epochLength,
                      startPosition: start, transform: ImageTransform(mode: .train, size: 16), contextLength: 10, workers: workers,
                      warnings: WarningLog(limit: 0))
    }

    /// Concatenates every rank's share of each global batch, in rank order.
    func globalBatches(_ source: SampleSource, world: Int, globalBatch: Int, start: Int = 0, workers: Int = 0,
                       epochLength: Int? = nil) throws -> [Batch] {
        var perRank: [[Batch]] = []
        for rank in 0..<world {
            let loader = try DataLoader(source: source, tokenizer: tokenizer,
                                        options: options(world: world, rank: rank, globalBatch: globalBatch, start: start,
                                                         workers: workers, epochLength: epochLength))
            var batches: [Batch] = []
            while let (b, _) = try loader.next() { batches.append(b) }
            perRank.append(batches)
        }
        return (0..<perRank[0].count).map { i in
            var merged = perRank[0][i]
            for r in 1..<world {
                let b = perRank[r][i]
                merged.images += b.images; merged.tokens += b.tokens; merged.captions += b.captions
                merged.sampleIndices += b.sampleIndices; merged.keys += b.keys; merged.labels += b.labels
                merged.count += b.count; merged.skipped += b.skipped
            }
            return merged
        }
    }

    func assertSame(_ a: [Batch], _ b: [Batch], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.sampleIndices, y.sampleIndices, file: file, line: line)
            XCTAssertEqual(x.keys, y.keys, file: file, line: line)
            XCTAssertEqual(x.captions, y.captions, file: file, line: line)
            XCTAssertEqual(x.tokens, y.tokens, file: file, line: line)
            XCTAssertEqual(x.images, y.images, file: file, line: line)  // bit-identical augmentation
        }
    }

    func testGlobalBatchesIndependentOfWorldSizeSynthetic() throws {
        let source = SyntheticShapes(seed: 9, trainCount: 70).source(.train)
        let one = try globalBatches(source, world: 1, globalBatch: 8)
        XCTAssertEqual(one.count, 8)  // 70 / 8, final partial batch dropped
        XCTAssertEqual(one.flatMap(\.sampleIndices), Array(0..<64))
        XCTAssertEqual(Set(one.flatMap(\.keys)).count, 64)
        assertSame(one, try globalBatches(source, world: 2, globalBatch: 8))
        assertSame(one, try globalBatches(source, world: 4, globalBatch: 8, workers: 2))
    }

    func testGlobalBatchesIndependentOfWorldSizeWebDatasetWithBadSamples() throws {
        let dir = try makeScratchDirectory(self)
        let spec = try SyntheticShapes(seed: 1, imageSize: 24, trainCount: 40)
            .writeSynthetic(split: .train, to: dir, format: .webDataset(samplesPerShard: 6), encoding: .jpeg(quality: 90))
        // Corrupt one image in place (same size, so the tar stays valid): its sample must be replaced identically.
        let victim = dir + "/train-000002.tar"
        var bytes = try readWholeFile(victim)
        let entry = try TarReader.scan(path: victim).entries[2]
        for i in entry.dataOffset..<(entry.dataOffset + entry.size) { bytes[i] = 0x42 }
        try writeWholeFile(victim, bytes)
        let source = try WebDatasetSource(shardSpec: spec, shuffleBufferSize: 8, warnings: WarningLog(limit: 0))
        let one = try globalBatches(source, world: 1, globalBatch: 8, epochLength: 48)
        XCTAssertEqual(one.count, 6)
        XCTAssertTrue(one.allSatisfy { $0.count == 8 })
        XCTAssertGreaterThan(one.map(\.skipped).reduce(0, +), 0)
        XCTAssertFalse(one.flatMap(\.keys).contains("train-000002.tar:00000013"))
        assertSame(one, try globalBatches(source, world: 2, globalBatch: 8, epochLength: 48))
        let fresh = try WebDatasetSource(shardSpec: spec, shuffleBufferSize: 8, warnings: WarningLog(limit: 0))
        assertSame(one, try globalBatches(fresh, world: 4, globalBatch: 8, workers: 1, epochLength: 48))
    }

    func testResumeFromSamplePositionGivesTheSameBatches() throws {
        let source = SyntheticShapes(seed: 2, trainCount: 100).source(.train)
        let full = try globalBatches(source, world: 2, globalBatch: 10)
        let resumed = try globalBatches(source, world: 2, globalBatch: 10, start: 40, workers: 2)
        XCTAssertEqual(resumed.count, 6)
        assertSame(Array(full.suffix(6)), resumed)
        // A resumed run may use another world size too.
        assertSame(Array(full.suffix(6)), try globalBatches(source, world: 5, globalBatch: 10, start: 40))
    }

    func testEpochsDifferAndEpochLengthCanExceedTheData() throws {
        let source = SyntheticShapes(seed: 3, trainCount: 12).source(.train)
        var opts = options(world: 1, rank: 0, globalBatch: 4, epochLength: 36)
        let a = try DataLoader(source: source, tokenizer: tokenizer, options: opts)
        XCTAssertEqual(a.batchCount, 9)
        var keys: [String] = []
        while let (b, _) = try a.next() { keys += b.keys }
        for pass in 0..<3 { XCTAssertEqual(Set(keys[(pass * 12)..<((pass + 1) * 12)]).count, 12) }
        opts.epoch = 4
        let b = try DataLoader(source: source, tokenizer: tokenizer, options: opts)
        XCTAssertNotEqual(try b.buildBatch(0).keys, try a.buildBatch(0).keys)
    }

    func testPrefetchMatchesSynchronousAndReportsWait() throws {
        let source = SyntheticShapes(seed: 4, trainCount: 64).source(.train)
        let sync = try DataLoader(source: source, tokenizer: tokenizer, options: options(world: 1, rank: 0, globalBatch: 8))
        let async = try DataLoader(source: source, tokenizer: tokenizer, options: options(world: 1, rank: 0, globalBatch: 8, workers: 2))
        var count = 0
        while let (a, wait) = try async.next() {
            let (s, _) = try XCTUnwrap(try sync.next())
            XCTAssertEqual(a.images, s.images)
            XCTAssertEqual(a.index, count)
            XCTAssertGreaterThanOrEqual(wait, 0)
            count += 1
        }
        XCTAssertEqual(count, 8)
        XCTAssertNil(try sync.next())
        XCTAssertGreaterThanOrEqual(async.totalWaitSeconds, 0)
    }

    func testStoppingEarlyDoesNotHang() throws {
        let source = SyntheticShapes(seed: 4, trainCount: 640).source(.train)
        let loader = try DataLoader(source: source, tokenizer: tokenizer, options: options(world: 1, rank: 0, globalBatch: 8, workers: 2))
        _ = try loader.next()
        loader.stop()
    }

    func testEvaluationCoversEverySampleOnceAcrossRanks() throws {
        let source = SyntheticShapes(seed: 5, trainCount: 10, valCount: 23).source(.val)
        var seen: [Int] = []
        var batchCounts: [Int] = []
        for rank in 0..<3 {
            let opts = LoaderOptions(mode: .evaluation, batchSize: 4, worldSize: 3, rank: rank,
                                     transform: ImageTransform(mode: .eval, size: 16), contextLength: 5, workers: 1)
            let loader = try DataLoader(source: source, tokenizer: tokenizer, options: opts)
            batchCounts.append(loader.batchCount)
            while let (b, _) = try loader.next() {
                seen += b.sampleIndices
                XCTAssertEqual(b.labels, b.sampleIndices.map { $0 % 20 })
            }
        }
        XCTAssertEqual(Set(batchCounts), [2])  // every rank steps the same number of times
        XCTAssertEqual(seen.sorted(), Array(0..<23))
    }

    func testTooManyFailuresIsAnError() throws {
        let dir = try makeScratchDirectory(self)
        try writeWholeFile(dir + "/bad.png", Array("nope".utf8))
        try writeTextFile(dir + "/d.csv", "filepath\ttitle\nbad.png\tx\nbad.png\ty\n")
        let source = try CSVSource(csvSpec: dir + "/d.csv")
        var opts = options(world: 1, rank: 0, globalBatch: 2)
        opts.maxSubstituteAttempts = 5
        opts.warnings = WarningLog(limit: 0)
        let loader = try DataLoader(source: source, tokenizer: tokenizer, options: opts)
        XCTAssertThrowsError(try loader.next()) { XCTAssertTrue("\($0)".contains("5 consecutive undecodable")) }
    }

    func testInvalidOptionsAreRejected() {
        let source = SyntheticShapes(trainCount: 10).source(.train)
        XCTAssertThrowsError(try DataLoader(source: source, tokenizer: tokenizer,
                                            options: LoaderOptions(batchSize: 2, worldSize: 2, rank: 2, transform: ImageTransform(mode: .train, size: 8))))
        XCTAssertThrowsError(try DataLoader(source: source, tokenizer: tokenizer,
                                            options: LoaderOptions(batchSize: 0, transform: ImageTransform(mode: .train, size: 8))))
    }
}
