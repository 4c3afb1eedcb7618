import Foundation

/// A 2-D float matrix in numpy's `.npy` format, version 1.0: the magic `\x93NUMPY`, the version bytes 1 0, a
/// little-endian 16-bit header length, a Python dict literal (`descr`, `fortran_order`, `shape`) padded with spaces and a
/// final newline so the data starts at a multiple of 64 bytes, then the values in C (row-major) order.
/// `numpy.load` reads these files directly.
public struct NumpyMatrix: Equatable {
    public var rows: Int
    public var columns: Int
    public var dtype: EmbeddingDType
    /// `rows × columns` values, row-major, as stored (float16 values already rounded).
    public var values: [Float]

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    static let alignment = 64

    /// Rounds `values` to `dtype` when it is float16 (round to nearest, ties to even), so `values` is what a reader gets.
    public init(rows: Int, columns: Int, dtype: EmbeddingDType, values: [Float]) {
        precondition(values.count == rows * columns, "NumpyMatrix: \(values.count) values for \(rows) × \(columns)")
        self.rows = rows
        self.columns = columns
        self.dtype = dtype
        self.values = dtype == .f16 ? values.map { Float(Float16($0)) } : values
    }

    /// The file's bytes.
    public func encoded() -> Data {
        var header = "{'descr': '\(dtype.numpyDescriptor)', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        let fixed = Self.magic.count + 2 + 2
        let padding = (Self.alignment - (fixed + header.utf8.count + 1) % Self.alignment) % Self.alignment
        header += String(repeating: " ", count: padding) + "\n"
        var data = Data(Self.magic + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        switch dtype {
        case .f32:
            values.withUnsafeBytes { data.append(contentsOf: $0) }  // little-endian hosts only (x86-64, arm64)
        case .f16:
            let halves = values.map { Float16($0).bitPattern }
            halves.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Parses a `.npy` file of a 2-D little-endian float32 or float16 array in C order; anything else is an error naming `name`.
    public init(decoding data: Data, name: String) throws {
        let bytes = [UInt8](data)
        func fail(_ problem: String) -> RetrievalError { RetrievalError("\(name): not an embedding .npy file: \(problem)") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == Self.magic else { throw fail("no NUMPY magic") }
        let headerStart: Int, headerLength: Int
        switch bytes[6] {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerStart = 12
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
        default:
            throw fail("format version \(bytes[6]).\(bytes[7])")
        }
        guard bytes.count >= headerStart + headerLength else { throw fail("truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = Self.quotedValue(of: "descr", in: header), let type = EmbeddingDType(numpyDescriptor: descr) else {
            throw fail("dtype is not <f4 or <f2")
        }
        guard header.contains("'fortran_order': False") else { throw fail("Fortran order") }
        guard let shape = Self.shape(in: header), shape.count == 2 else { throw fail("shape is not 2-D") }
        let dataStart = headerStart + headerLength
        let expected = shape[0] * shape[1] * type.byteWidth
        guard bytes.count - dataStart == expected else {
            throw fail("\(bytes.count - dataStart) data bytes, the shape (\(shape[0]), \(shape[1])) needs \(expected)")
        }
        var values = [Float](repeating: 0, count: shape[0] * shape[1])
        bytes.withUnsafeBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            switch type {
            case .f32:
                values.withUnsafeMutableBytes { $0.copyMemory(from: payload) }
            case .f16:
                for i in values.indices { values[i] = Float(Float16(bitPattern: payload.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            }
        }
        rows = shape[0]
        columns = shape[1]
        dtype = type
        self.values = values
    }

    /// The quoted value of `'key': '...'` in a header dict.
    static func quotedValue(of key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...].drop { $0 == " " }
        guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: quote) else { return nil }
        return String(body[..<end])
    }

    /// The integers of `'shape': (a, b)` (a 1-tuple `(a,)` gives one).
    static func shape(in header: String) -> [Int]? {
        guard let keyRange = header.range(of: "'shape':"), let open = header[keyRange.upperBound...].firstIndex(of: "("),
              let close = header[open...].firstIndex(of: ")") else { return nil }
        let parts = header[header.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let numbers = parts.compactMap { Int($0) }
        return numbers.count == parts.count && numbers.allSatisfy({ $0 >= 0 }) ? numbers : nil
    }
}
