import Checkpoint
import Foundation
import NN
import TensorCore
import TrainingKit

/// Writes model weights in formats other tools, or inference, read.
public enum WeightsExport {
    /// What `swiftclip export` writes.
    public enum Format: String, CaseIterable, Sendable {
        /// safetensors under the family's public keys (OpenCLIP's for CLIP), which `load_state_dict` accepts.
        case safetensors
        /// A weights-only SwiftCLIP checkpoint (no optimizer moments) that `eval`, `embed`, `serve`, `caption` and
        /// `--init-*` load like a training checkpoint.
        case checkpoint
    }

    /// Writes the parameters of `checkpoint` (any family; a checkpoint file, or a run's `checkpoints/` folder meaning its
    /// newest checkpoint that verifies) as `format`, each value stored as `dtype` (rounded to nearest, ties to even).
    public static func export(checkpoint path: String, format: Format, dtype: StorageDType, output: String,
                              messages: (String) -> Void) throws {
        let loaded = try CheckpointModel(path, messages: messages)
        let store = loaded.task.parameters
        switch format {
        case .safetensors:
            try store.save(safetensors: output, dtype: dtype,
                           metadata: ["source": loaded.checkpoint.url.lastPathComponent, "step": String(loaded.checkpoint.step),
                                      "family": loaded.family.name])
        case .checkpoint:
            var metadata = loaded.metadata
            metadata.weightsOnly = true
            let tensors = store.parameters.map { CheckpointTensor(name: $0.name, shape: $0.shape, values: $0.value.values, dtype: dtype) }
            do {
                try CheckpointFile.write(tensors, step: loaded.checkpoint.step, metadata: metadata, to: URL(fileURLWithPath: output))
            } catch let error as CheckpointError {
                throw TrainingError("\(output): \(error)")
            }
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        messages("wrote \(store.parameters.count) \(loaded.family.name) tensors (step \(loaded.checkpoint.step), \(dtype.rawValue), "
                 + "\(bytes) bytes) to \(output)")
    }

    /// Re-writes a safetensors weights file as `dtype` after a strict load into the model `settings` describe (checks keys
    /// and shapes).
    public static func safetensors(weights path: String, settings: Settings, dtype: StorageDType = .f32, output: String) throws {
        try Families.registry.checkFamily(of: settings)
        let task = try Families.family(named: settings.task).makeTask(settings: settings)
        try task.parameters.load(safetensors: path)
        try task.parameters.save(safetensors: output, dtype: dtype)
    }
}
