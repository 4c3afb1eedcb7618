import Checkpoint
import Foundation
import NN
import Optim
import TrainingKit

/// What a SwiftCLIP checkpoint's header carries besides the tensor table.
public struct CheckpointMetadata: Codable, Sendable {
    public var state: TrainingState
    /// The model family (`--task`); checkpoints written before families existed are CLIP's.
    public var family: String?
    /// The family's model configuration (for CLIP, OpenCLIP's model config JSON).
    public var model: JSONValue
    /// Names of the parameters whose AdamW moments follow as `adamw.exp_avg.NAME` / `adamw.exp_avg_sq.NAME`.
    public var optimizer = "adamw"
    /// The built-in tokenizer the run trained (its JSON file), so the checkpoint alone can be evaluated or resumed.
    public var tokenizer: String?
    /// Set in checkpoints for inference (`swiftclip export --format checkpoint`): parameters only, possibly stored as
    /// bfloat16 or float16, no optimizer moments; `eval`, `embed`, `serve`, `caption` and `--init-*` read them, resuming
    /// refuses them.
    public var weightsOnly: Bool?

    public var familyName: String { family ?? "clip" }
}

/// Saving and restoring a run: model parameters under their OpenCLIP keys, AdamW moments, and the
/// training state (step, stage, data position, schedule, seed) — everything needed to continue exactly.
public final class RunCheckpoints {
    public static let firstMomentPrefix = "adamw.exp_avg."
    public static let secondMomentPrefix = "adamw.exp_avg_sq."

    public let directory: CheckpointDirectory
    let writer: AsyncCheckpointWriter
    /// Seconds training waited for the last save (snapshot + hand-off; the write itself runs in the background).
    public private(set) var lastPause: Double = 0

    public init(directory path: String, keep: Int?, compressionLevel: Int = 3) throws {
        directory = try CheckpointDirectory(url: URL(fileURLWithPath: path), keepLatest: keep ?? Int.max)
        _ = try? directory.removeStaleTemporaryFiles()
        writer = AsyncCheckpointWriter(directory: directory, options: CheckpointWriteOptions(compressionLevel: Int32(compressionLevel)))
    }

    /// The tensors of a checkpoint: parameters, then first and second moments (full, laid out like the parameters).
    public static func tensors(parameters store: ParameterStore, firstMoment: [Float], secondMoment: [Float]) -> [CheckpointTensor] {
        var tensors = store.parameters.map { CheckpointTensor(name: $0.name, shape: $0.shape, values: $0.value.values) }
        firstMoment.withUnsafeBufferPointer { m in
            secondMoment.withUnsafeBufferPointer { v in
                for p in store.parameters {
                    tensors.append(CheckpointTensor(name: firstMomentPrefix + p.name, shape: p.shape,
                                                    values: Array(m[p.offset..<(p.offset + p.count)])))
                    tensors.append(CheckpointTensor(name: secondMomentPrefix + p.name, shape: p.shape,
                                                    values: Array(v[p.offset..<(p.offset + p.count)])))
                }
            }
        }
        return tensors
    }

    /// Snapshots the run and writes it in the background (waiting for the previous save first); `moments` are the
    /// full AdamW moments (`StepEngine.gatherOptimizerMoments`).
    public func save(task: TrainingTask, family: String, moments: (first: [Float], second: [Float]), state: TrainingState) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let tensors = Self.tensors(parameters: task.parameters, firstMoment: moments.first, secondMoment: moments.second)
        let metadata = CheckpointMetadata(state: state, family: family, model: task.modelConfig, tokenizer: task.checkpointAttachment)
        try writer.submit(step: state.step, tensors: tensors, metadata: metadata)
        lastPause = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Waits for the background save; its error, if any, surfaces here.
    public func finish() throws { _ = try writer.wait() }

    /// Loads `resume` (`latest`, a checkpoint file, a folder of checkpoints, or such a folder's `latest` pointer file)
    /// after verifying every checksum.
    /// Returns nil for `latest` when no checkpoint exists yet; `messages` receives fallback notes.
    public static func load(_ resume: String, runCheckpoints: String, messages: (String) -> Void) throws -> LoadedCheckpoint? {
        if resume == "latest" {
            guard FileManager.default.fileExists(atPath: runCheckpoints) else { return nil }
            return try CheckpointFile.locate(runCheckpoints, messages: messages)
        }
        do {
            guard let loaded = try CheckpointFile.locate(resume, messages: messages) else {
                throw TrainingError("\(resume): no checkpoint in this folder")
            }
            return loaded
        } catch CheckpointError.fileNotFound {
            throw TrainingError("\(resume): no such checkpoint file or folder")
        }
    }

    /// The header's run metadata; an error names the file.
    public static func metadata(of checkpoint: LoadedCheckpoint) throws -> CheckpointMetadata {
        do { return try checkpoint.metadata(as: CheckpointMetadata.self) } catch {
            throw TrainingError("\(checkpoint.url.path): header metadata is not a SwiftCLIP training state (\(error))")
        }
    }

    /// A checkpoint's training state and AdamW moments, with the parameters already loaded into the model.
    public struct Restored {
        public var state: TrainingState
        public var firstMoment: [Float]
        public var secondMoment: [Float]
    }

    /// Loads parameters into `model` (strictly: missing, unused or mis-shaped keys are errors naming the key)
    /// and returns the moments (laid out like the parameters) and the training state. A weights-only checkpoint (no
    /// moments) is refused unless `allowingWeightsOnly`; its moments are then empty.
    public static func restore(_ checkpoint: LoadedCheckpoint, into task: TrainingTask, family: String,
                               allowingWeightsOnly: Bool = false) throws -> Restored {
        let file = checkpoint.url.path
        let metadata = try Self.metadata(of: checkpoint)
        let isWeightsOnly = metadata.weightsOnly ?? false
        guard allowingWeightsOnly || !isWeightsOnly else {
            throw TrainingError("\(file): a weights-only checkpoint for inference (no optimizer state): it cannot resume a run; start one from it with --init-image/--init-text")
        }
        guard metadata.familyName == family else {
            throw TrainingError("\(file): a \(metadata.familyName) checkpoint, not one of --task \(family)")
        }
        guard metadata.model == task.modelConfig else {
            throw TrainingError("\(file): the checkpoint's model config differs from --model's")
        }
        let store = task.parameters
        var stored: [String: StoredTensor] = [:]
        var first = [Float](repeating: 0, count: isWeightsOnly ? 0 : store.count), second = first
        var momentsFound = 0
        for t in checkpoint.tensors {
            var isMoment = false
            for (prefix, isFirst) in [(firstMomentPrefix, true), (secondMomentPrefix, false)] where t.name.hasPrefix(prefix) {
                isMoment = true
                let name = String(t.name.dropFirst(prefix.count))
                guard !isWeightsOnly else { throw TrainingError("\(file): a weights-only checkpoint holds moment \(t.name)") }
                guard let p = store[name], p.shape == t.shape else { throw TrainingError("\(file): moment \(t.name) does not fit the model") }
                if isFirst { first.replaceSubrange(p.offset..<(p.offset + p.count), with: t.values) }
                else { second.replaceSubrange(p.offset..<(p.offset + p.count), with: t.values) }
                momentsFound += 1
            }
            if !isMoment { stored[t.name] = StoredTensor(shape: t.shape, dtype: "F32", floats: t.values, integers: []) }
        }
        guard isWeightsOnly || momentsFound == 2 * store.parameters.count else {
            throw TrainingError("\(file): has \(momentsFound) AdamW moment tensors, expected \(2 * store.parameters.count)")
        }
        try store.load(stored, from: file)
        return Restored(state: metadata.state, firstMoment: first, secondMoment: second)
    }
}
