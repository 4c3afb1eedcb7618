import Foundation

extension EmbeddingMetadataRow {
    /// Every metadata row of the embeddings folder `directory` in manifest order (row id = position), reading its
    /// manifest first; an error names the file that is missing or unreadable.
    public static func readAll(directory: String) throws -> [EmbeddingMetadataRow] {
        try rows(of: directory, manifest: try EmbeddingManifest.read(directory: directory))
    }
}
