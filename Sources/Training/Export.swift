import CLIP
import Checkpoint
import Foundation
import NN

/// Writes model weights in formats other tools read.
public enum WeightsExport {
    /// Writes the parameters of `checkpoint` (a checkpoint file, or a run's `checkpoints/` folder meaning its
    /// newest checkpoint that verifies) as F32 safetensors under OpenCLIP's keys, which `load_state_dict` accepts.
    public static func safetensors(checkpoint path: String, output: String, messages: (String) -> Void) throws {
        guard let loaded = try RunCheckpoints.load(path, runCheckpoints: path, messages: messages) else {
            throw TrainingError("\(path): no checkpoint found")
        }
        let metadata = try loaded.metadata(as: CheckpointMetadata.self)
        let model = CLIPModel(config: metadata.model)
        _ = try RunCheckpoints.restore(loaded, into: model)
        try model.parameters.save(safetensors: output, metadata: ["source": loaded.url.lastPathComponent, "step": String(loaded.step)])
        messages("wrote \(model.parameters.parameters.count) tensors (step \(loaded.step)) to \(output)")
    }

    /// Re-writes a safetensors weights file after a strict load into `config` (checks keys and shapes).
    public static func safetensors(weights path: String, config: CLIPConfig, output: String) throws {
        let model = CLIPModel(config: config)
        try model.parameters.load(safetensors: path)
        try model.parameters.save(safetensors: output)
    }
}
