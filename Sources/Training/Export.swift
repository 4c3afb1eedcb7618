import Foundation
import NN
import TrainingKit

/// Writes model weights in formats other tools read.
public enum WeightsExport {
    /// Writes the parameters of `checkpoint` (any family; a checkpoint file, or a run's `checkpoints/` folder meaning its
    /// newest checkpoint that verifies) as F32 safetensors under the family's public keys (OpenCLIP's for CLIP), which
    /// `load_state_dict` accepts.
    public static func safetensors(checkpoint path: String, output: String, messages: (String) -> Void) throws {
        let loaded = try CheckpointModel(path, messages: messages)
        let store = loaded.task.parameters
        try store.save(safetensors: output, metadata: ["source": loaded.checkpoint.url.lastPathComponent, "step": String(loaded.checkpoint.step),
                                                       "family": loaded.family.name])
        messages("wrote \(store.parameters.count) \(loaded.family.name) tensors (step \(loaded.checkpoint.step)) to \(output)")
    }

    /// Re-writes a safetensors weights file after a strict load into the model `settings` describe (checks keys and shapes).
    public static func safetensors(weights path: String, settings: Settings, output: String) throws {
        try Families.registry.checkFamily(of: settings)
        let task = try Families.family(named: settings.task).makeTask(settings: settings)
        try task.parameters.load(safetensors: path)
        try task.parameters.save(safetensors: output)
    }
}
