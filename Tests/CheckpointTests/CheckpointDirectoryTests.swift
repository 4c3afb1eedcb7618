import Foundation
import XCTest
@testable import Checkpoint

final class CheckpointDirectoryTests: XCTestCase {
    private func tensors(seed: UInt64) -> [CheckpointTensor] {
        [CheckpointTensor(name: "w", shape: [16, 16], values: TestData.normal(256, seed: seed)),
         CheckpointTensor(name: "b", shape: [16], values: TestData.normal(16, seed: seed + 1000))]
    }

    private func names(_ directory: CheckpointDirectory) throws -> [String] {
        try directory.list().map { $0.url.lastPathComponent }
    }

    private func corruptFirstPayload(_ url: URL) throws {
        let record = try XCTUnwrap(CheckpointFile.readHeader(at: url).tensors.first)
        try editFile(url) { bytes in bytes[record.offset + 3] ^= 0xFF }
    }

    func testSaveNamesFilesByStepAndPointsLatestAtNewest() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 5)
        for step in [100, 200, 12_345_678_9] { try directory.save(tensors(seed: UInt64(step)), step: step, metadata: ["step": step]) }
        XCTAssertEqual(try names(directory), ["step-00000100.sclip", "step-00000200.sclip", "step-123456789.sclip"])
        XCTAssertEqual(try directory.latestPointer()?.lastPathComponent, "step-123456789.sclip")
        let latestText = try String(contentsOf: directory.url.appendingPathComponent("latest"), encoding: .utf8)
        XCTAssertEqual(latestText, "step-123456789.sclip\n")
        let resolved = try XCTUnwrap(directory.resolveLatest())
        XCTAssertEqual(resolved.checkpoint.step, 123_456_789)
        XCTAssertFalse(resolved.usedFallback)
        XCTAssertNil(resolved.fallbackMessage)
        XCTAssertTrue(resolved.checkpoint.tensors[0].isBitwiseEqual(to: tensors(seed: 123_456_789)[0]))
    }

    func testResolveLatestFallsBackToPreviousGoodCheckpoint() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 5)
        for step in [100, 200, 300] { try directory.save(tensors(seed: UInt64(step)), step: step, metadata: ["step": step]) }
        try corruptFirstPayload(directory.fileURL(forStep: 300))
        try editFile(directory.fileURL(forStep: 200)) { bytes in bytes.removeLast(10) }

        let resolved = try XCTUnwrap(directory.resolveLatest())
        XCTAssertEqual(resolved.checkpoint.step, 100)
        XCTAssertEqual(resolved.skipped.map { $0.url.lastPathComponent }, ["step-00000300.sclip", "step-00000200.sclip"])
        XCTAssertTrue(resolved.skipped[0].description.contains("tensor 'w': stored payload checksum mismatch"), resolved.skipped[0].description)
        XCTAssertTrue(resolved.skipped[1].description.contains("truncated"), resolved.skipped[1].description)
        let message = try XCTUnwrap(resolved.fallbackMessage)
        XCTAssertTrue(message.hasPrefix("resuming from step-00000100.sclip (step 100) because newer checkpoints failed"), message)
        XCTAssertEqual(try resolved.checkpoint.metadata(as: [String: Int].self), ["step": 100])
    }

    func testResolveLatestHonoursPointerAndHandlesDanglingPointer() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 5)
        for step in [1, 2, 3] { try directory.save(tensors(seed: UInt64(step)), step: step, metadata: ["step": step]) }
        // An operator rolled `latest` back to step 2: newer step 3 must not be picked.
        try "step-00000002.sclip\n".write(to: directory.url.appendingPathComponent("latest"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try directory.resolveLatest()?.checkpoint.step, 2)

        try FileManager.default.removeItem(at: directory.fileURL(forStep: 2))
        let resolved = try XCTUnwrap(directory.resolveLatest())
        XCTAssertEqual(resolved.checkpoint.step, 1)
        XCTAssertTrue(resolved.skipped[0].description.contains("checkpoint file not found"))

        try "garbage".write(to: directory.url.appendingPathComponent("latest"), atomically: true, encoding: .utf8)
        let withoutPointer = try XCTUnwrap(directory.resolveLatest())
        XCTAssertEqual(withoutPointer.checkpoint.step, 3)
        XCTAssertTrue(withoutPointer.skipped[0].description.contains("expected a checkpoint file name"))
    }

    func testResolveLatestThrowsWhenNothingVerifiesAndReturnsNilWhenEmpty() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 5)
        XCTAssertNil(try directory.resolveLatest())
        for step in [1, 2] { try directory.save(tensors(seed: UInt64(step)), step: step, metadata: ["step": step]) }
        for step in [1, 2] { try corruptFirstPayload(directory.fileURL(forStep: step)) }
        let message = checkpointErrorDescription { _ = try directory.resolveLatest() }
        XCTAssertTrue(message.contains("no checkpoint verifies") && message.contains("step-00000001.sclip") && message.contains("step-00000002.sclip"), message)
    }

    func testKeepNPruningKeepsMarkedAndNewest() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 2)
        for step in 1...6 {
            try directory.save(tensors(seed: UInt64(step)), step: step, metadata: ["step": step])
            if step == 2 { try directory.markKeep(step: 2) }
        }
        XCTAssertEqual(try names(directory), ["step-00000002.sclip", "step-00000005.sclip", "step-00000006.sclip"])
        XCTAssertEqual(try directory.list().map(\.isMarkedKeep), [true, false, false])

        // Saving an older step (a rewind) must keep the file just written even though newer ones exist.
        let rewind = try CheckpointDirectory(url: directory.url, keepLatest: 1)
        try rewind.save(tensors(seed: 3), step: 3, metadata: ["step": 3])
        XCTAssertEqual(try names(rewind), ["step-00000002.sclip", "step-00000003.sclip", "step-00000006.sclip"])
        XCTAssertEqual(try rewind.latestPointer()?.lastPathComponent, "step-00000003.sclip")

        try rewind.unmarkKeep(step: 2)
        XCTAssertEqual(try rewind.prune().map(\.lastPathComponent), ["step-00000002.sclip"])
    }

    func testCrashLeftoversAreIgnoredAndCleaned() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 5)
        try directory.save(tensors(seed: 1), step: 100, metadata: ["step": 100])
        // A crash mid-save leaves a partial temporary checkpoint and a temporary pointer behind.
        let partial = directory.url.appendingPathComponent("step-00000200.sclip.tmp-0123456789abcdef")
        try Data(try Data(contentsOf: directory.fileURL(forStep: 100)).prefix(500)).write(to: partial)
        let pointerTemp = directory.url.appendingPathComponent("latest.tmp-fedcba9876543210")
        try "step-00000200.sclip\n".write(to: pointerTemp, atomically: false, encoding: .utf8)
        let unrelated = directory.url.appendingPathComponent("notes.txt.tmp-0123456789abcdef")
        try "mine".write(to: unrelated, atomically: false, encoding: .utf8)

        XCTAssertEqual(try names(directory), ["step-00000100.sclip"])
        let resolved = try XCTUnwrap(directory.resolveLatest())
        XCTAssertEqual(resolved.checkpoint.step, 100)
        XCTAssertFalse(resolved.usedFallback)
        XCTAssertTrue(FileManager.default.fileExists(atPath: partial.path), "resolving must not modify the directory")

        XCTAssertEqual(try directory.removeStaleTemporaryFiles().map(\.lastPathComponent).sorted(),
                       ["latest.tmp-fedcba9876543210", "step-00000200.sclip.tmp-0123456789abcdef"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))

        // The next save also cleans leftovers by itself.
        try Data([1, 2, 3]).write(to: partial)
        try directory.save(tensors(seed: 2), step: 200, metadata: ["step": 200])
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: pointerTemp.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: unrelated.path))
        XCTAssertEqual(try directory.resolveLatest()?.checkpoint.step, 200)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, ["notes.txt.tmp-0123456789abcdef"])
    }

    func testAsyncWriterSavesSnapshotsAndReportsErrors() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 3)
        let writer = AsyncCheckpointWriter(directory: directory)
        var live = tensors(seed: 7)
        let snapshot = live
        try writer.submit(step: 10, tensors: live, metadata: RunState.example)
        // Training keeps mutating its tensors; the handed-over copy must be what lands on disk.
        live[0].values[0] = 123
        try writer.submit(step: 20, tensors: live, metadata: ["step": 20])
        let saved = try writer.wait()
        XCTAssertEqual(saved.map { $0.url.lastPathComponent }, ["step-00000010.sclip", "step-00000020.sclip"])
        XCTAssertTrue(try CheckpointFile.read(at: directory.fileURL(forStep: 10)).tensors[0].isBitwiseEqual(to: snapshot[0]))
        XCTAssertEqual(try CheckpointFile.read(at: directory.fileURL(forStep: 20)).tensors[0].values[0], 123)
        XCTAssertEqual(try directory.latestPointer()?.lastPathComponent, "step-00000020.sclip")

        try writer.submit(step: 30, tensors: [CheckpointTensor(name: "bad", shape: [2], values: [1])], metadata: ["step": 30])
        XCTAssertThrowsError(try writer.wait()) { error in
            XCTAssertTrue("\(error)".contains("tensor 'bad'"), "\(error)")
        }
        XCTAssertEqual(try writer.wait().count, 0, "an error is reported once")
        XCTAssertEqual(try directory.latestPointer()?.lastPathComponent, "step-00000020.sclip")
        XCTAssertFalse(writer.isBusy)
    }

    /// A slow save (zstd level 19) must still be running when `submit` returns, and `submitIfIdle` must skip.
    func testAsyncWriterReturnsBeforeTheSaveFinishes() throws {
        let directory = try CheckpointDirectory(url: makeScratchDirectory(self), keepLatest: 3)
        let writer = AsyncCheckpointWriter(directory: directory, options: CheckpointWriteOptions(compressionLevel: 19, compressionWorkers: 0))
        let big = [CheckpointTensor(name: "w", shape: [1 << 19], values: TestData.normal(1 << 19, seed: 5))]
        try writer.submit(step: 1, tensors: big, metadata: ["step": 1])
        XCTAssertTrue(writer.isBusy, "submit should return while the save runs in the background")
        XCTAssertFalse(try writer.submitIfIdle(step: 2, tensors: big, metadata: ["step": 2]))
        XCTAssertNil(try directory.latestPointer(), "latest must not move before the save is durable")
        XCTAssertEqual(try writer.wait().map(\.url.lastPathComponent), ["step-00000001.sclip"])
        XCTAssertEqual(try directory.latestPointer()?.lastPathComponent, "step-00000001.sclip")
        XCTAssertTrue(try writer.submitIfIdle(step: 2, tensors: [], metadata: ["step": 2]))
        XCTAssertEqual(try writer.wait().map(\.url.lastPathComponent), ["step-00000002.sclip"])
    }
}
