import Foundation
import Retrieval
import XCTest

final class NumpyMatrixTests: XCTestCase {
    func testFloat32FileHasNumpysHeaderAndRowMajorValues() throws {
        let values: [Float] = [1, -2, 0.5, 3, 4.25, -0]
        let data = NumpyMatrix(rows: 2, columns: 3, dtype: .f32, values: values).encoded()
        let bytes = [UInt8](data)
        XCTAssertEqual(Array(bytes[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "data must start on a 64-byte boundary")
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header)
        XCTAssertTrue(header.hasSuffix(" \n"))
        XCTAssertEqual(bytes.count, 10 + headerLength + 6 * 4)
        let stored = bytes[(10 + headerLength)...].withUnsafeBytes { raw in (0..<6).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
        XCTAssertEqual(stored, values)
        let decoded = try NumpyMatrix(decoding: data, name: "a.npy")
        XCTAssertEqual(decoded, NumpyMatrix(rows: 2, columns: 3, dtype: .f32, values: values))
    }

    func testFloat16RoundsToNearestEvenAndStoresHalfBits() throws {
        let halfUlp = Float(1) / 2048  // half a float16 step at 1
        let matrix = NumpyMatrix(rows: 1, columns: 4, dtype: .f16, values: [1 + halfUlp, 1 + 3 * halfUlp, 0.1, -2])
        // Ties go to the even neighbour: 1 + 2^-11 → 1, 1 + 3·2^-11 → 1 + 2^-9; 0.1 → the nearest half, 0.0999755859375.
        XCTAssertEqual(matrix.values, [1, 1 + 4 * halfUlp, 0.0999755859375, -2])
        let data = matrix.encoded()
        let start = 10 + (Int(data[8]) | Int(data[9]) << 8)
        XCTAssertEqual(start % 64, 0)
        XCTAssertTrue(String(decoding: data[10..<start], as: UTF8.self).contains("'descr': '<f2'"))
        XCTAssertEqual(data.count, start + 4 * 2)
        XCTAssertEqual([UInt8](data[start..<(start + 2)]), [0x00, 0x3C], "1.0 as little-endian float16")
        XCTAssertEqual([UInt8](data[(start + 6)..<(start + 8)]), [0x00, 0xC0], "-2.0 as little-endian float16")
        XCTAssertEqual(try NumpyMatrix(decoding: data, name: "h.npy"), matrix)
    }

    func testEmptyMatrixKeepsItsWidth() throws {
        let data = NumpyMatrix(rows: 0, columns: 8, dtype: .f32, values: []).encoded()
        let decoded = try NumpyMatrix(decoding: data, name: "e.npy")
        XCTAssertEqual([decoded.rows, decoded.columns], [0, 8])
    }

    func testDamagedFilesAreErrorsNamingTheFile() {
        let good = NumpyMatrix(rows: 3, columns: 2, dtype: .f32, values: [1, 2, 3, 4, 5, 6]).encoded()
        func message(_ data: Data) -> String {
            do { _ = try NumpyMatrix(decoding: data, name: "/x/shard.img.npy"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(good.dropLast(4)).hasPrefix("/x/shard.img.npy: "), message(good.dropLast(4)))
        XCTAssertTrue(message(good.dropLast(4)).contains("20 data bytes"))
        XCTAssertTrue(message(Data("not numpy".utf8)).contains("magic"))
        var double = good
        let descriptor = good.range(of: Data("<f4".utf8))!
        double.replaceSubrange(descriptor, with: Data("<f8".utf8))
        XCTAssertTrue(message(double).contains("dtype"), message(double))
    }
}
