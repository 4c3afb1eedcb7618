import Foundation
import TensorCore
import XCTest

/// The 16-bit storage types of exported weights: round to nearest with ties to even, error within half a unit in the
/// last place, exact widening, overflow reported.
final class StorageDTypeTests: XCTestCase {
    private func encoded(_ values: [Float], _ dtype: StorageDType) -> (stored: [UInt16], overflow: Int?) {
        var stored = [UInt16](repeating: 0, count: values.count)
        let overflow = stored.withUnsafeMutableBytes { dtype.encode(values, count: values.count, into: $0.baseAddress!) }
        return (stored, overflow)
    }

    func testFloat16RoundsToNearestWithTiesToEven() {
        let ulp: Float = 0x1p-10
        XCTAssertEqual(StorageDType.f16.rounded(1 + ulp / 2), 1, "tie, even below: down")
        XCTAssertEqual(StorageDType.f16.rounded(1 + 3 * ulp / 2), 1 + 2 * ulp, "tie, odd below: up to even")
        XCTAssertEqual(StorageDType.f16.rounded(1 + ulp / 2 + 0x1p-20), 1 + ulp, "above half: up")
        XCTAssertEqual(StorageDType.bf16.rounded(1 + 0x1p-8), 1, "bfloat16 tie, even below: down")
        XCTAssertEqual(StorageDType.bf16.rounded(1 + 3 * 0x1p-8), 1 + 0x1p-6, "bfloat16 tie, odd below: up to even")
        XCTAssertEqual(encoded([1, -2, 0.5], .f16).stored, [0x3C00, 0xC000, 0x3800])
        XCTAssertEqual(encoded([1, -2, 0.5], .bf16).stored, [0x3F80, 0xC000, 0x3F00])
    }

    func testRelativeErrorIsAtMostHalfAUnitInTheLastPlace() {
        var generator = SplitMix64(seed: 7)
        // Normal-range values over many binades, as weights and activations span.
        let values = (0..<20_000).map { _ in Float.random(in: -1...1, using: &generator) * Float(pow(2.0, Double.random(in: -12...12, using: &generator))) }
        for (dtype, bound) in [(StorageDType.bf16, Float(0x1p-8)), (.f16, Float(0x1p-11))] {
            let (stored, overflow) = encoded(values, dtype)
            XCTAssertNil(overflow)
            var widened = [Float](repeating: 0, count: values.count)
            stored.withUnsafeBytes { dtype.decode($0.baseAddress!, count: values.count, into: &widened) }
            var worst: Float = 0
            for (value, back) in zip(values, widened) where abs(value) >= 0x1p-14 {  // float16's normal range
                XCTAssertEqual(back.bitPattern, dtype.rounded(value).bitPattern, "decode(encode(x)) is rounded(x)")
                worst = max(worst, abs(back - value) / abs(value))
            }
            XCTAssertLessThanOrEqual(worst, bound, "\(dtype)")
            XCTAssertGreaterThan(worst, bound / 2, "\(dtype): the bound is tight, so the values really were rounded")
        }
    }

    func testFloat32IsStoredBitForBitAndOverflowIsReported() {
        let special: [Float] = [.nan, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.infinity]
        var stored = [Float](repeating: 0, count: special.count)
        XCTAssertNil(stored.withUnsafeMutableBytes { StorageDType.f32.encode(special, count: special.count, into: $0.baseAddress!) })
        XCTAssertEqual(stored.map(\.bitPattern), special.map(\.bitPattern))

        XCTAssertEqual(encoded([1, 65_504, 65_520, 70_000], .f16).overflow, 2, "65,520 rounds past float16's largest finite value")
        XCTAssertNil(encoded([.infinity, -.infinity, .nan], .f16).overflow, "values already infinite are not an overflow")
        XCTAssertEqual(encoded([0, .greatestFiniteMagnitude], .bf16).overflow, 1)
        XCTAssertTrue(StorageDType.f16.rounded(.nan).isNaN)
        XCTAssertTrue(StorageDType.bf16.rounded(.nan).isNaN)
    }

    func testNamesOfEachFormat() {
        XCTAssertEqual(StorageDType.allCases.map(\.safetensorsName), ["F32", "BF16", "F16"])
        XCTAssertEqual(StorageDType.allCases.map(\.longName), ["float32", "bfloat16", "float16"])
        XCTAssertEqual(StorageDType.allCases.map(\.byteWidth), [4, 2, 2])
        XCTAssertEqual(StorageDType(longName: "bfloat16"), .bf16)
        XCTAssertEqual(StorageDType(safetensorsName: "F16"), .f16)
        XCTAssertNil(StorageDType(safetensorsName: "F64"))
    }
}
