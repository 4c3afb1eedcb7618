import Checkpoint
import Distributed
import Foundation

/// `swiftclip embed`: every rank embeds the units `i` with `i mod ranks == rank` and writes each as one output shard;
/// shards already complete for this model are skipped, so a killed run restarted with the same arguments finishes the
/// rest and ends with the same files. Rank 0 then writes `manifest.json`.
///
/// The output folder must be shared by the ranks (as checkpoint folders are). A unit's embeddings depend only on the
/// unit, the model and the batch size, never on the number of ranks, so any world size writes the same bytes.
public struct EmbedJob {
    public var input: EmbedInput
    public var output: String
    public var dtype: EmbeddingDType
    public var batchSize: Int
    /// Background decoding threads per rank.
    public var workers: Int
    /// Whether captions are embedded (`NAME.txt.npy`); false embeds images only and keeps the captions in the metadata.
    public var embedTexts: Bool

    public init(input: EmbedInput, output: String, dtype: EmbeddingDType = .f32, batchSize: Int = 256, workers: Int = 1, embedTexts: Bool = true) {
        self.input = input
        self.output = output
        self.dtype = dtype
        self.batchSize = batchSize
        self.workers = workers
        self.embedTexts = embedTexts
    }

    public struct Summary: Equatable {
        /// Shards this rank embedded, and skipped as already complete.
        public var embedded = 0
        public var skipped = 0
        /// Rows this rank embedded.
        public var rows = 0
        /// The manifest (rank 0 only).
        public var manifest: EmbeddingManifest?
    }

    public func run(model: EmbeddingModel, communicator: Communicator, messages: (String) -> Void) throws -> Summary {
        guard batchSize > 0 else { throw RetrievalError("--batch-size must be positive, got \(batchSize)") }
        do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
            throw RetrievalError("\(output): cannot create the output folder (\(error.localizedDescription))")
        }
        var input = input
        input.readsAudio = model.audioInput != nil
        let units = try input.units()
        let mine = units.enumerated().filter { $0.offset % communicator.size == communicator.rank }.map(\.element)
        try removeInterruptedWrites(of: mine)
        let embedder = ShardEmbedder(model: model, batchSize: batchSize, workers: workers, embedTexts: embedTexts)
        var summary = Summary()
        for unit in mine {
            let files = EmbeddingShardFiles(directory: output, name: unit.name)
            if files.verifiedRecord(model: model.identity, dtype: dtype) != nil {
                summary.skipped += 1
                continue
            }
            let shard = try embedder.embed(unit)
            let rows = shard.metadata.count
            func matrix(_ values: [Float]?) -> NumpyMatrix? { values.map { NumpyMatrix(rows: rows, columns: model.dimension, dtype: dtype, values: $0) } }
            try files.write(images: matrix(shard.images), texts: matrix(shard.texts), audio: matrix(shard.audio),
                            metadata: shard.metadata, origin: unit.origin, model: model.identity, skipped: shard.skipped)
            summary.embedded += 1
            summary.rows += rows
            let kinds = [(shard.images, "images"), (shard.texts, "captions"), (shard.audio, "audio")].filter { $0.0 != nil }.map(\.1)
            messages("\(unit.name): \(rows) rows of \(kinds.joined(separator: ", "))\(shard.skipped > 0 ? ", \(shard.skipped) unreadable samples skipped" : "")")
        }
        try communicator.barrier()
        if communicator.rank == 0 {
            let records = try units.map { try EmbeddingShardFiles(directory: output, name: $0.name).readRecord() }
            let manifest = EmbeddingManifest(model: model.identity, dtype: dtype, dimension: model.dimension, records: records)
            try manifest.write(directory: output)
            summary.manifest = manifest
        }
        return summary
    }

    /// Deletes temporary files a killed run left for this rank's shards (no other rank writes them).
    func removeInterruptedWrites(of units: [EmbedUnit]) throws {
        let prefixes = units.map { $0.name + "." }
        for file in (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        where DurableFile.isTemporaryName(file) && prefixes.contains(where: { file.hasPrefix($0) }) {
            try? FileManager.default.removeItem(atPath: output + "/" + file)
        }
    }
}
