import XCTest
@testable import Distributed

final class ReplicaCheckTests: XCTestCase {
    func testChecksumSeesEveryBitLengthAndAlignment() {
        var bytes = [UInt8](repeating: 0xA5, count: 77)
        var seen = Set<UInt64>()
        let reference = bytes.withUnsafeBytes { Checksum64.hash($0) }
        XCTAssertEqual(reference, bytes.withUnsafeBytes { Checksum64.hash($0) }, "deterministic")
        seen.insert(reference)
        for bit in 0..<(bytes.count * 8) {
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            seen.insert(bytes.withUnsafeBytes { Checksum64.hash($0) })
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
        }
        XCTAssertEqual(seen.count, 1 + bytes.count * 8, "each single-bit flip changes the checksum")
        for length in 0..<bytes.count { seen.insert(bytes.withUnsafeBytes { Checksum64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) }
        XCTAssertEqual(seen.count, 1 + bytes.count * 9, "prefixes hash differently")
        // The same bytes at an odd address give the same checksum.
        let unaligned = bytes.withUnsafeBytes { Checksum64.hash(UnsafeRawBufferPointer(rebasing: $0[1..<77])) }
        let copy = Array(bytes[1...])
        XCTAssertEqual(unaligned, copy.withUnsafeBytes { Checksum64.hash($0) })
    }

    func testChecksumOfLargeBufferIsFast() {
        let values = [Float](repeating: 1.5, count: 16 << 20)
        let start = Date()
        _ = values.withUnsafeBytes { Checksum64.hash($0) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "64 MB should hash well under a second")
    }

    func testSingleRankIsConsistent() throws {
        let parameters: [Float] = [1, 2, 3]
        let result = try parameters.withUnsafeBufferPointer { try ReplicaCheck.run(parameters: $0, communicator: LocalCommunicator()) }
        XCTAssertTrue(result.isConsistent)
        XCTAssertEqual(result.byteCounts, [12])
    }

    func testRanksWhoseChecksumOrSizeDifferFromRankZeroAreReported() throws {
        let communicator = RecordingCommunicator(rank: 1, size: 4)
        communicator.gatherOverride = { rank, slot in
            let words = slot.bindMemory(to: UInt64.self)
            if rank == 2 { words[0] ^= 1 }
            if rank == 3 { words[1] += 4 }
        }
        let parameters: [Float] = [1, 2, 3]
        let result = try parameters.withUnsafeBufferPointer { try ReplicaCheck.run(parameters: $0, communicator: communicator) }
        XCTAssertEqual(result.divergentRanks, [2, 3])
        XCTAssertEqual(result.byteCounts, [12, 12, 12, 16])
        XCTAssertFalse(result.isConsistent)
    }
}
