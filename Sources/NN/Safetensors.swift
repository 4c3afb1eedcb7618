import Foundation
import TensorCore

/// A tensor read from a safetensors file: Float32 values (converted from F16/BF16) or integer values.
public struct StoredTensor {
    public let shape: [Int]
    public let dtype: String
    public let floats: [Float]
    public let integers: [Int64]

    public init(shape: [Int], dtype: String, floats: [Float], integers: [Int64]) {
        self.shape = shape; self.dtype = dtype; self.floats = floats; self.integers = integers
    }

    public var count: Int { shape.reduce(1, *) }
    public var tensor: Tensor { Tensor(shape: shape, values: floats) }
}

/// An error reading or writing a weights file; its description is one line naming the file.
public struct WeightsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
}

/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}` (+ optional `__metadata__`), then raw row-major data.
public enum Safetensors {
    /// Reads every tensor of `path`, keyed by name, and the string metadata.
    public static func read(_ path: String) throws -> (tensors: [String: StoredTensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw WeightsError(path, "cannot read file") }
        guard data.count >= 8 else { throw WeightsError(path, "too short for a safetensors header (\(data.count) bytes)") }
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength > 0, headerLength <= 100_000_000, 8 + headerLength <= data.count else {
            throw WeightsError(path, "header length \(headerLength) does not fit a file of \(data.count) bytes")
        }
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any] else {
            throw WeightsError(path, "header is not a JSON object")
        }
        let base = 8 + headerLength
        var tensors: [String: StoredTensor] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                metadata = (entry as? [String: String]) ?? [:]
                continue
            }
            guard let info = entry as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw WeightsError(path, "tensor \(name) has a malformed header entry")
            }
            let count = shape.reduce(1, *)
            let (begin, end) = (base + offsets[0], base + offsets[1])
            guard begin <= end, end <= data.count else {
                throw WeightsError(path, "tensor \(name) data [\(offsets[0]), \(offsets[1])) lies outside the file (truncated?)")
            }
            let size = end - begin
            let elementSize = StorageDType(safetensorsName: dtype)?.byteWidth ?? ["I64": 8, "I32": 4][dtype]
            guard let elementSize else { throw WeightsError(path, "tensor \(name) has unsupported dtype \(dtype)") }
            guard size == count * elementSize else {
                throw WeightsError(path, "tensor \(name) has \(size) bytes for shape \(shape) of \(dtype)")
            }
            var floats: [Float] = [], integers: [Int64] = []
            data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + begin
                if let stored = StorageDType(safetensorsName: dtype) {
                    floats = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                        if count > 0 { stored.decode(p, count: count, into: buffer.baseAddress!) }
                        initialized = count
                    }
                } else if dtype == "I64" {
                    integers = (0..<count).map { Int64(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
                } else {
                    integers = (0..<count).map { Int64(Int32(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
                }
            }
            tensors[name] = StoredTensor(shape: shape, dtype: dtype, floats: floats, integers: integers)
        }
        return (tensors, metadata)
    }

    /// Writes Float32 `tensors` (in the given order) as `dtype` (16-bit types rounded to nearest, ties to even) with
    /// string `metadata`, atomically (temp file + rename). A finite value beyond the type's range is an error naming it.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], dtype: StorageDType = .f32, metadata: [String: String] = [:],
                             to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, t) in tensors {
            let bytes = t.count * dtype.byteWidth
            header[name] = ["dtype": dtype.safetensorsName, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
        var out = Data(count: 8 + json.count + offset)
        try out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(json.count).littleEndian, as: UInt64.self)
            json.copyBytes(to: raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + 8, count: json.count)
            var position = 8 + json.count
            for (name, t) in tensors {
                let overflow = t.withUnsafeBufferPointer { values in
                    values.isEmpty ? nil : dtype.encode(values.baseAddress!, count: values.count, into: raw.baseAddress! + position)
                }
                if let overflow {
                    throw WeightsError(path, "tensor \(name) holds \(t.pointer[overflow]), beyond the range of \(dtype.longName)")
                }
                position += t.count * dtype.byteWidth
            }
        }
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: out) else { throw WeightsError(path, "cannot write file") }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw WeightsError(path, "cannot rename temporary file into place: \(String(cString: strerror(errno)))")
        }
    }
}

extension ParameterStore {
    /// Loads values by name, strictly: a missing, unused or mis-shaped key is an error naming the key.
    public func load(_ tensors: [String: StoredTensor], from file: String) throws {
        for p in parameters {
            guard let t = tensors[p.name] else { throw WeightsError(file, "missing parameter \(p.name) (shape \(p.shape))") }
            guard t.shape == p.shape else {
                throw WeightsError(file, "parameter \(p.name) has shape \(t.shape), the model expects \(p.shape)")
            }
            guard !t.floats.isEmpty || p.count == 0 else { throw WeightsError(file, "parameter \(p.name) has integer dtype \(t.dtype)") }
            t.floats.withUnsafeBufferPointer { p.pointer.update(from: $0.baseAddress!, count: p.count) }
        }
        let unused = Set(tensors.keys).subtracting(parameters.map(\.name)).sorted()
        if let first = unused.first {
            throw WeightsError(file, "unused key \(first)\(unused.count > 1 ? " (and \(unused.count - 1) more)" : "") not in the model")
        }
    }

    /// Loads a safetensors file strictly (see `load(_:from:)`).
    public func load(safetensors path: String) throws {
        try load(try Safetensors.read(path).tensors, from: path)
    }

    /// Writes every parameter under its OpenCLIP key as safetensors of `dtype`, which `model.load_state_dict` accepts.
    public func save(safetensors path: String, dtype: StorageDType = .f32, metadata: [String: String] = [:]) throws {
        try Safetensors.write(parameters.map { ($0.name, $0.value) }, dtype: dtype, metadata: metadata, to: path)
    }
}
