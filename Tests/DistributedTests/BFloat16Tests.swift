import XCTest
@testable import Distributed
import TensorCore

final class BFloat16Tests: XCTestCase {
    func bits(_ pattern: UInt32) -> Float { Float(bitPattern: pattern) }

    func testRoundsToNearestWithTiesToEven() {
        XCTAssertEqual(BFloat16.round(1), 0x3F80)
        XCTAssertEqual(BFloat16.round(bits(0x3F80_7FFF)), 0x3F80, "below half: down")
        XCTAssertEqual(BFloat16.round(bits(0x3F80_8000)), 0x3F80, "tie, even below: down")
        XCTAssertEqual(BFloat16.round(bits(0x3F81_8000)), 0x3F82, "tie, odd below: up to even")
        XCTAssertEqual(BFloat16.round(bits(0x3F80_8001)), 0x3F81, "above half: up")
        XCTAssertEqual(BFloat16.round(bits(0xBF81_8000)), 0xBF82, "negative ties to even too")
        XCTAssertEqual(BFloat16.round(bits(0x3FFF_8000)), 0x4000, "carry into the exponent")
        XCTAssertEqual(BFloat16.round(-0.0), 0x8000)
    }

    func testSubnormalsRoundLikeOtherValues() {
        XCTAssertEqual(BFloat16.round(bits(0x0000_0001)), 0x0000, "the smallest Float subnormal rounds to zero")
        XCTAssertEqual(BFloat16.round(bits(0x0000_8000)), 0x0000, "tie to even zero")
        XCTAssertEqual(BFloat16.round(bits(0x0001_8000)), 0x0002)
        XCTAssertEqual(BFloat16.round(bits(0x0000_8001)), 0x0001)
        XCTAssertEqual(BFloat16.round(bits(0x007F_FFFF)), 0x0080, "the largest subnormal rounds up to the smallest normal")
        XCTAssertTrue(BFloat16.widen(0x0001).isSubnormal)
        XCTAssertEqual(BFloat16.widen(0x0001), bits(0x0001_0000))
    }

    func testInfinitiesAndNaN() {
        XCTAssertEqual(BFloat16.round(.infinity), 0x7F80)
        XCTAssertEqual(BFloat16.round(-.infinity), 0xFF80)
        XCTAssertEqual(BFloat16.round(.greatestFiniteMagnitude), 0x7F80, "beyond the largest finite bfloat16: infinity")
        XCTAssertEqual(BFloat16.round(bits(0x7F7F_7FFF)), 0x7F7F, "the largest finite bfloat16 stays finite")
        for nan in [Float.nan, -Float.nan, bits(0x7F80_0001), bits(0xFF80_0001), bits(0x7FFF_FFFF)] {
            let rounded = BFloat16.widen(BFloat16.round(nan))
            XCTAssertTrue(rounded.isNaN, "\(nan.bitPattern) stays NaN, not infinity")
            XCTAssertEqual(rounded.sign, nan.sign)
        }
    }

    func testEveryBFloat16RoundTrips() {
        for value in UInt16.min...UInt16.max where !BFloat16.widen(value).isNaN {
            XCTAssertEqual(BFloat16.round(BFloat16.widen(value)), value)
        }
    }

    func testRoundsTheQuotientAndSumsInFloat32InRankOrder() {
        // Three contributions of two values each, as an all-to-all delivers them (stride 2).
        let segments: [UInt16] = [0x3F80, 0x4000, 0x3380, 0x4040, 0x3380, 0xBF80]  // 1, 2 | 2^-24, 3 | 2^-24, -1
        var sums = [Float](repeating: 0, count: 2)
        BFloat16.sumInFloat32(segments, contributions: 3, stride: 2, count: 2, into: &sums)
        // In rank order each 2^-24 is a tie that rounds back to 1; adding the two small ones first would give 1 + 2^-23.
        XCTAssertEqual(sums, [1, 4])
        var rounded = [UInt16](repeating: 0, count: 2)
        BFloat16.round([3, 1], dividedBy: 3, into: &rounded, count: 2)
        XCTAssertEqual(rounded, [0x3F80, BFloat16.round(Float(1) / 3)])
    }

    /// Round to nearest even written as a comparison of the dropped half with one half, for reference.
    static func reference(_ value: Float) -> UInt16 {
        let bits = value.bitPattern, kept = UInt16(bits >> 16), dropped = bits & 0xFFFF
        return dropped > 0x8000 || (dropped == 0x8000 && kept & 1 == 1) ? kept + 1 : kept
    }

    /// Three ranks (this one is rank 1) whose gradients are gathered by a fake communicator: the average equals the
    /// Float32 sum of the bf16-rounded shares, rounded once more; the scattered variant keeps the Float32 sum.
    func testAverageEqualsTheFloat32SumOfRoundedShares() throws {
        let inputs: [[Float]] = [[1, 0.1, -3e-3, 1e-40, 7], [2, 0.2, 5e-3, 0, -7], [0.5, 1e5, -1e-3, 3e-39, 1e-3]]
        let shares = inputs.map { $0.map { Self.reference($0 / 3) } }
        let sums = (0..<5).map { k in shares.map { BFloat16.widen($0[k]) }.reduce(0, +) }
        let communicator = RecordingCommunicator(rank: 1, size: 3)
        communicator.gatherOverride = { rank, slot in
            let values = slot.bindMemory(to: UInt16.self)
            for k in 0..<5 { values[k] = shares[rank][k] }
        }
        var buffer = inputs[1]
        try buffer.withUnsafeMutableBufferPointer { try communicator.startAverage($0, wire: .bf16).wait() }
        XCTAssertEqual(buffer.map(\.bitPattern), sums.map { BFloat16.widen(Self.reference($0)).bitPattern })

        var segment = [Float](repeating: 0, count: 2)
        try inputs[1].withUnsafeBufferPointer { input in
            try segment.withUnsafeMutableBufferPointer {
                // The recording communicator overrides the scatter, so call the gathered implementation itself.
                try GatheredBFloat16Average.averageScatter(input, into: $0, counts: [2, 2, 1], communicator: communicator)
            }
        }
        XCTAssertEqual(segment, Array(sums[2..<4]), "rank 1's segment, not rounded again")
    }
}
