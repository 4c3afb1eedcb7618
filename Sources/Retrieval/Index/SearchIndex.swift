import Checkpoint
import Foundation

/// A built index with what it was built from, as one file: the magic `SCLIPIX1`, the header's length (8 bytes,
/// little-endian) and XXH3 (16 hex digits), the header (JSON), then the payload whose XXH3 the header records.
/// Payload, little-endian: flat: vectors (f32, count × dimension); ivf: centroids (f32, lists × dimension), list offsets
/// (i64, lists + 1), row ids (i64, count), vectors grouped by list (f32, count × dimension).
public final class SearchIndex {
    public struct Header: Codable, Equatable {
        public var formatVersion = 1
        public var kind: String
        public var model: ModelIdentity
        public var dimension: Int
        public var count: Int
        public var lists: Int?
        public var nprobe: Int?
        /// The embeddings folder it was built from (ids are its global rows; captions are in its metadata).
        public var embeddings: String
        /// Recall@10 of the approximate index against exact search, measured at build time.
        public var recallAt10: Double?
        public var payloadChecksum = ""

        enum CodingKeys: String, CodingKey {
            case kind, model, dimension, count, lists, nprobe, embeddings
            case formatVersion = "format_version"
            case recallAt10 = "recall_at_10"
            case payloadChecksum = "payload_checksum"
        }
    }

    static let magic = Data("SCLIPIX1".utf8)

    public private(set) var header: Header
    public let index: VectorIndex

    init(header: Header, index: VectorIndex) {
        self.header = header
        self.index = index
    }

    public func search(queries: [Float], k: Int) -> [[SearchHit]] { index.search(queries: queries, k: k) }
    public func search(query: [Float], k: Int) -> [SearchHit] { index.search(query: query, k: k) }

    /// Writes the index atomically.
    public func write(to path: String) throws {
        var payload = Data()
        func append<T>(_ values: [T]) { values.withUnsafeBytes { payload.append(contentsOf: $0) } }
        if let ivf = index as? IVFIndex {
            append(ivf.centroids)
            append(ivf.listOffsets.map(Int64.init))
            append(ivf.ids.map(Int64.init))
            append(ivf.vectors)
        } else if let flat = index as? FlatIndex {
            append(flat.vectors)
        }
        header.payloadChecksum = ContentChecksum.hex(of: payload)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let headerData = try encoder.encode(header)
        var file = Self.magic
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(Data(ContentChecksum.hex(of: headerData).utf8))
        file.append(headerData)
        file.append(payload)
        try DurableFile.write(file, to: path)
    }

    /// Reads and verifies `path`; when `model` is given, an index built from another model's embeddings is an error naming
    /// both. Every problem is an error naming the file.
    public static func load(_ path: String, model: ModelIdentity? = nil) throws -> SearchIndex {
        guard let data = FileManager.default.contents(atPath: path) else { throw RetrievalError("\(path): cannot read the index file") }
        func fail(_ problem: String) -> RetrievalError { RetrievalError("\(path): \(problem)") }
        guard data.count >= 32, data.prefix(8) == magic else { throw fail("not a swiftclip index (no SCLIPIX1 magic)") }
        let headerLength = data[8..<16].withUnsafeBytes { Int(truncatingIfNeeded: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength >= 0, data.count >= 32 + headerLength else { throw fail("truncated header") }
        let headerData = data[32..<(32 + headerLength)]
        guard String(decoding: data[16..<32], as: UTF8.self) == ContentChecksum.hex(of: Data(headerData)) else {
            throw fail("header checksum mismatch (damaged file)")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: headerData) } catch { throw fail("unreadable header (\(error))") }
        let payload = Data(data[(32 + headerLength)...])
        guard ContentChecksum.hex(of: payload) == header.payloadChecksum else { throw fail("payload checksum mismatch (damaged file)") }
        if let model, model != header.model {
            throw fail("built from embeddings of model \(header.model), but the loaded model is \(model)")
        }
        let d = header.dimension, n = header.count
        var reader = PayloadReader(payload: payload)
        let index: VectorIndex
        switch header.kind {
        case "flat":
            index = FlatIndex(vectors: try reader.floats(n * d, path), dimension: d)
        case "ivf":
            guard let lists = header.lists, let nprobe = header.nprobe else { throw fail("ivf index without lists or nprobe") }
            let centroids = try reader.floats(lists * d, path)
            let offsets = try reader.integers(lists + 1, path)
            let ids = try reader.integers(n, path)
            let vectors = try reader.floats(n * d, path)
            guard offsets.first == 0, offsets.last == n, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
                  ids.allSatisfy({ (0..<n).contains($0) }) else { throw fail("inconsistent list offsets or ids") }
            index = IVFIndex(dimension: d, centroids: centroids, listOffsets: offsets, ids: ids, vectors: vectors, nprobe: nprobe)
        default:
            throw fail("unknown index kind '\(header.kind)'")
        }
        guard reader.isAtEnd else { throw fail("payload longer than the header describes") }
        return SearchIndex(header: header, index: index)
    }
}

/// Reads consecutive little-endian arrays out of an index payload.
struct PayloadReader {
    let payload: Data
    var offset = 0

    var isAtEnd: Bool { offset == payload.count }

    mutating func bytes(_ count: Int, _ path: String) throws -> Data {
        guard count >= 0, offset + count <= payload.count else { throw RetrievalError("\(path): payload shorter than the header describes") }
        defer { offset += count }
        return payload[(payload.startIndex + offset)..<(payload.startIndex + offset + count)]
    }

    mutating func floats(_ count: Int, _ path: String) throws -> [Float] {
        let raw = try bytes(count * 4, path)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyBytes(from: raw) }  // little-endian hosts only (x86-64, arm64)
        return values
    }

    mutating func integers(_ count: Int, _ path: String) throws -> [Int] {
        let raw = try bytes(count * 8, path)
        return raw.withUnsafeBytes { buffer in (0..<count).map { Int(Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) } }
    }
}
