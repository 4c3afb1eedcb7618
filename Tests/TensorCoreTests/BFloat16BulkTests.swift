import XCTest
import TensorCore

/// The bulk (vectorised) bfloat16 conversions against the per-element definition, bit for bit, on the edge cases of
/// rounding and at every length and alignment around the vector width.
final class BFloat16BulkTests: XCTestCase {
    /// The rounding as it was first written, with a branch for NaN: the branch-free form must give the same bits.
    static func branchingReference(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// NaNs (quiet, signalling, both signs, payloads only in the dropped half), infinities, the largest finite values,
    /// zeros, subnormals, ties with even and odd kept halves, and their neighbours, followed by random bit patterns.
    static let edgeCases: [Float] = {
        var patterns: [UInt32] = [0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7F80_8000, 0x7FBF_FFFF, 0x7FFF_FFFF,
                                  0xFFFF_FFFF, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F7F_7FFF, 0x7F7F_8000,
                                  0x0000_0000, 0x8000_0000, 0x0000_0001, 0x8000_0001, 0x0000_8000, 0x0001_8000, 0x0000_8001,
                                  0x007F_FFFF, 0x807F_FFFF, 0x0080_0000]
        for kept: UInt32 in [0x3F80, 0x3F81, 0xBF80, 0xBF81, 0x3FFF, 0x0001, 0x7F7E] {
            for dropped: UInt32 in [0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF] { patterns.append(kept << 16 | dropped) }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<4096 { patterns.append(generator.next()) }
        return patterns.map(Float.init(bitPattern:))
    }()

    func testBranchFreeRoundingEqualsTheBranchingFormOverASweepOfAllFloats() {
        var pattern: UInt32 = 0
        repeat {
            let value = Float(bitPattern: pattern)
            if BFloat16.round(value) != Self.branchingReference(value) {
                return XCTFail("bits \(String(pattern, radix: 16)): \(BFloat16.round(value)) vs \(Self.branchingReference(value))")
            }
            pattern = pattern &+ 997
        } while pattern >= 997
        for value in Self.edgeCases { XCTAssertEqual(BFloat16.round(value), Self.branchingReference(value), "\(value.bitPattern)") }
    }

    func testBulkRoundingAndWideningEqualThePerElementFormsAtEveryLengthAndOffset() {
        let values = Self.edgeCases
        for offset in 0..<3 {
            for count in Array(0...40) + [values.count - offset] {
                let source = Array(values[offset..<(offset + count)])
                var rounded = [UInt16](repeating: 0xAAAA, count: count + 1)
                BFloat16.round(source, into: &rounded, count: count)
                XCTAssertEqual(Array(rounded.prefix(count)), source.map { BFloat16.round($0) }, "round, offset \(offset), count \(count)")
                XCTAssertEqual(rounded[count], 0xAAAA, "round writes past its count")
                var quotients = [UInt16](repeating: 0, count: count)
                BFloat16.round(source, dividedBy: 3, into: &quotients, count: count)
                XCTAssertEqual(quotients, source.map { BFloat16.round($0 / 3) }, "round of quotients, count \(count)")
                var widened = [Float](repeating: 7, count: count + 1)
                BFloat16.widen(rounded, into: &widened, count: count)
                XCTAssertEqual(widened.prefix(count).map(\.bitPattern), rounded.prefix(count).map { BFloat16.widen($0).bitPattern })
                XCTAssertEqual(widened[count], 7, "widen writes past its count")
            }
        }
    }

    func testBulkSumsEqualTheFloat32SumsInOrder() {
        let count = 37, contributions = 3
        let segments = Self.edgeCases.prefix(count * contributions).map { BFloat16.round($0) }
        var sums = [Float](repeating: 0, count: count)
        BFloat16.sumInFloat32(segments, contributions: contributions, stride: count, count: count, into: &sums)
        let expected = (0..<count).map { k in
            (1..<contributions).reduce(BFloat16.widen(segments[k])) { $0 + BFloat16.widen(segments[$1 * count + k]) }
        }
        XCTAssertEqual(sums.map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testStorageEncodingAndDecodingMatchThePerElementForms() {
        let values = Self.edgeCases
        var bytes = [UInt8](repeating: 0, count: 2 * values.count + 1)
        let overflow = bytes.withUnsafeMutableBytes { StorageDType.bf16.encode(values, count: values.count, into: $0.baseAddress! + 1) }
        XCTAssertEqual(overflow, values.firstIndex { $0.isFinite && BFloat16.round($0) & 0x7FFF == 0x7F80 })
        for (i, value) in values.enumerated() {
            XCTAssertEqual(UInt16(bytes[1 + 2 * i]) | UInt16(bytes[2 + 2 * i]) << 8, BFloat16.round(value), "value \(i)")
        }
        let expected = values.map { BFloat16.widen(BFloat16.round($0)).bitPattern }
        var decoded = [Float](repeating: 0, count: values.count)
        bytes.withUnsafeBytes { StorageDType.bf16.decode($0.baseAddress! + 1, count: values.count, into: &decoded) }
        XCTAssertEqual(decoded.map(\.bitPattern), expected, "decoded from an odd address")
        let aligned = Array(bytes.dropFirst())
        decoded = [Float](repeating: 0, count: values.count)
        aligned.withUnsafeBytes { StorageDType.bf16.decode($0.baseAddress!, count: values.count, into: &decoded) }
        XCTAssertEqual(decoded.map(\.bitPattern), expected, "decoded from an aligned address")
    }
}
