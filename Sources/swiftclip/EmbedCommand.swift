import ArgumentParser
import Dispatch
import Distributed
import Foundation
import Retrieval
import Training

/// `swiftclip embed`: a collection's image (and caption, and for a bound audio tower recording) embeddings as `.npy`
/// shards, on any number of ranks.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed a collection (WebDataset shards, CSV, image folder) into .npy shards with metadata; run under mpirun for several ranks.",
        discussion: """
        Writes per input shard (or per --chunk-size samples of a CSV file or image folder) NAME.img.npy when images exist, \
        NAME.txt.npy when captions exist, NAME.aud.npy for a bound audio checkpoint (--task bind) when .wav/.flac members exist \
        (such shards need no images; recordings are featurised with the run's recorded sample rate, mean and std unless \
        overridden), NAME.meta.jsonl and NAME.shard.json, then manifest.json. Shards already complete for this model are \
        skipped, so an interrupted run restarted with the same arguments produces the same files. See docs/retrieval.md.
        """)

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).") var checkpoint: String?
    @Option(name: .long, help: "OpenCLIP safetensors weights (with --model).") var weights: String?
    @Option(name: .long, help: "Model name or config JSON (with --weights).") var model: String?
    @Option(name: .long, help: "Model family of --model (with --weights).") var task = "clip"
    @Option(name: .long, help: "WebDataset shards (brace patterns, ::-joined), a CSV/TSV file, or an image folder.") var data: String
    @Option(name: .long, help: "Output folder.") var output: String
    @Option(name: .long, help: "Stored type: f32 or f16.") var dtype = "f32"
    @Option(name: .long, help: "Images per forward pass.") var batchSize = 256
    @Option(name: .long, help: "Samples per output shard for CSV files and image folders.") var chunkSize = 10_000
    @Option(name: .long, help: "Background decoding threads per rank.") var workers = 1
    @Option(name: .long, help: "CSV column of the image path.") var csvImgKey = "filepath"
    @Option(name: .long, help: "CSV column of the caption.") var csvCaptionKey = "title"
    @Option(name: .long, help: "CSV separator (\\t for tab).") var csvSeparator = "\\t"
    @Option(name: .long, help: "CLIP BPE merges file for 49,408-id models.") var merges: String?
    @Flag(name: .long, help: "Embed images only (captions are still kept in the metadata).") var imagesOnly = false
    @Option(name: .long, help: "Bound audio: resampling rate in Hz (default: the run's --audio-sample-rate).") var audioSampleRate: String?
    @Option(name: .long, help: "Bound audio: filter-bank mean (default: the run's --audio-mean).") var audioMean: String?
    @Option(name: .long, help: "Bound audio: filter-bank std (default: the run's --audio-std).") var audioStd: String?

    func validate() throws {
        guard (checkpoint == nil) != (weights == nil) else { throw ValidationError("give exactly one of --checkpoint and --weights") }
        if weights != nil && model == nil { throw ValidationError("--weights needs --model") }
        guard EmbeddingDType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be f32 or f16, got \(dtype)") }
    }

    func run() throws {
        var communicator: Communicator?
        do {
            let ranks = try MPILaunch.communicator()
            communicator = ranks
            let embedder = try loadModel()
            let job = EmbedJob(input: EmbedInput(data: data, chunkSize: chunkSize, csvImageKey: csvImgKey, csvCaptionKey: csvCaptionKey,
                                                 csvSeparator: csvSeparator == "\\t" ? "\t" : csvSeparator),
                               output: output, dtype: EmbeddingDType(rawValue: dtype)!, batchSize: batchSize, workers: workers,
                               embedTexts: !imagesOnly)
            let start = DispatchTime.now().uptimeNanoseconds
            let summary = try job.run(model: embedder, communicator: ranks) { print("swiftclip embed: rank \(ranks.rank): \($0)") }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("swiftclip embed: rank \(ranks.rank): embedded \(summary.embedded) shard(s) (\(summary.rows) rows) in "
                  + String(format: "%.2f s (%.1f rows/s)", seconds, Double(summary.rows) / max(seconds, 1e-9))
                  + ", skipped \(summary.skipped) already complete")
            if let manifest = summary.manifest {
                print("swiftclip embed: \(manifest.rows) rows in \(manifest.shards.count) shard(s) of dimension \(manifest.dimension) (\(manifest.dtype.rawValue)) in \(output); model \(manifest.model)")
            }
            try MPILaunch.finish(ranks)
        } catch let error as ExitCode {
            throw error
        } catch {
            if let communicator, communicator.size > 1 {
                MPILaunch.abortJob(communicator, message: "swiftclip embed: rank \(communicator.rank): \(error)")
            }
            FileHandle.standardError.write(Data("swiftclip embed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The model from a checkpoint of any family, or from OpenCLIP weights and a model config.
    func loadModel() throws -> EmbeddingModel {
        let audio = [("audio-sample-rate", audioSampleRate), ("audio-mean", audioMean), ("audio-std", audioStd)]
            .compactMap { name, value in value.map { (name, $0) } }
        if let checkpoint { return try loadEmbeddingModel(checkpoint: checkpoint, merges: merges, overrides: audio, command: "embed") }
        let settings = try Families.settings(arguments: ["--task", task, "--model", model!] + (merges.map { ["--merges", $0] } ?? [])
                                             + audio.flatMap { ["--" + $0.0, $0.1] })
        let loaded = try Families.family(named: task).makeTask(settings: settings)
        try loaded.parameters.load(safetensors: weights!)
        return try EmbeddingModels.model(for: loaded, family: task, settings: settings, step: nil, runDirectory: nil)
    }
}
