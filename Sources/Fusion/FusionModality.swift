import DataPipeline
import TrainingKit

/// An input the fusion classifier can read; its raw value is the batch field and the `_without_` metric suffix.
public enum FusionModality: String, CaseIterable, Sendable {
    case image, text, audio

    /// The sample field the modality reads.
    public var field: SampleField {
        switch self {
        case .image: return .image
        case .text: return .text
        case .audio: return .audio
        }
    }

    /// `--modalities`: comma-separated names, each once, at least one.
    public static func list(_ text: String) throws -> [FusionModality] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let modalities = try names.map { name -> FusionModality in
            guard let modality = FusionModality(rawValue: name) else {
                throw TrainingError("--modalities: '\(name)' is not a modality (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return modality
        }
        guard !modalities.isEmpty, Set(modalities).count == modalities.count else { throw TrainingError("--modalities \(text): list each modality once") }
        return modalities
    }
}
