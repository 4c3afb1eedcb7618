import DataPipeline
import Foundation
import Retrieval

/// What the service knows of each indexed row besides its vector: the caption and where its image can be read,
/// from the embeddings folder's `NAME.meta.jsonl` files in manifest order (row id = position).
public struct ItemCatalog: Sendable {
    public let rows: [EmbeddingMetadataRow]

    public init(rows: [EmbeddingMetadataRow]) { self.rows = rows }

    /// The metadata of the embeddings folder `directory`; an error names the file that is missing or unreadable.
    public init(embeddings directory: String) throws {
        rows = try EmbeddingMetadataRow.rows(of: directory, manifest: try EmbeddingManifest.read(directory: directory))
    }

    public var count: Int { rows.count }

    public func caption(_ id: Int) -> String? { rows.indices.contains(id) ? rows[id].caption : nil }

    /// The image file of row `id`: the source itself when it is an image (image folders), else the key as a path,
    /// absolute or relative to the source's folder (CSV files); nil when neither is a readable image file (a sample
    /// inside a WebDataset shard).
    public func imageFile(_ id: Int) -> String? {
        guard rows.indices.contains(id) else { return nil }
        let row = rows[id]
        let folder = URL(fileURLWithPath: row.source).deletingLastPathComponent().path
        let candidates = [row.source, row.key.hasPrefix("/") ? row.key : folder + "/" + row.key]
        return candidates.first { Self.isImageFile($0) }
    }

    static func isImageFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        let format = head.withUnsafeBytes { ImageFormat.sniff($0) }
        return format != .unknown
    }
}
