import Foundation

extension EmbeddingMetadataRow {
    /// Every metadata row of the embeddings folder `directory` in manifest order (row id = position), from its
    /// `NAME.meta.jsonl` files; an error names the file that is missing or unreadable.
    public static func readAll(directory: String) throws -> [EmbeddingMetadataRow] {
        let manifest = try EmbeddingManifest.read(directory: directory)
        var rows: [EmbeddingMetadataRow] = []
        rows.reserveCapacity(manifest.rows)
        let decoder = JSONDecoder()
        for shard in manifest.shards {
            let path = directory + "/" + shard.name + ".meta.jsonl"
            guard let data = FileManager.default.contents(atPath: path) else { throw RetrievalError("\(path): missing") }
            var lines = data.split(separator: 0x0A, omittingEmptySubsequences: true).makeIterator()
            for row in 0..<shard.rows {
                guard let line = lines.next(), let entry = try? decoder.decode(EmbeddingMetadataRow.self, from: Data(line)) else {
                    throw RetrievalError("\(path): row \(row) missing or not a metadata row")
                }
                rows.append(entry)
            }
        }
        return rows
    }
}
