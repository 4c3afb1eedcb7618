/// A named part of a sample (its image, its caption, its class, ...) and how the loader decodes it.
///
/// The well-known names carry their kind (`image`, `text`, `audio`, `label`, `labels`; `json` is bytes); any other
/// name is an extra field whose bytes pass through undecoded, unless a consumer declares another kind for it (for
/// instance `SampleField("depth.png", kind: .image)` to get a second image tensor). Sources match fields by name.
public struct SampleField: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Decoded and transformed into a planar float tensor (`Batch.fields.images`).
        case image
        /// Tokenised into a token row (`Batch.fields.tokens`), the string kept too (`Batch.fields.texts`).
        case text
        /// One class index (`Batch.fields.labels`).
        case label
        /// Several class indices, a multi-label target (`Batch.fields.labelSets`, `BatchFields.multiHot`).
        case labels
        /// Decoded (WAV, FLAC) into a normalised log-mel filter bank, `melBins × frames` floats
        /// (`Batch.fields.spectrograms`, see `AudioTransform`).
        case audio
        /// Encoded bytes carried as they are (`Batch.fields.bytes`): JSON and extra fields.
        case bytes
    }

    public let name: String
    public let kind: Kind

    /// A field named `name`; without an explicit kind, the well-known names get theirs and others are bytes.
    public init(_ name: String, kind: Kind? = nil) {
        self.name = name
        self.kind = kind ?? Self.wellKnownKinds[name] ?? .bytes
    }

    public static let image = SampleField("image")
    public static let text = SampleField("text")
    /// A recording (WAV/FLAC), decoded into a log-mel filter bank.
    public static let audio = SampleField("audio")
    public static let label = SampleField("label")
    public static let labels = SampleField("labels")
    /// A sample's JSON metadata, as bytes.
    public static let json = SampleField("json")

    /// What OpenCLIP's image-text training reads, and what every source provided before fields existed.
    public static let imageText: [SampleField] = [.image, .text]

    static let wellKnownKinds: [String: Kind] = [
        "image": .image, "text": .text, "audio": .audio, "label": .label, "labels": .labels, "json": .bytes,
    ]

    public var description: String { name }

    /// A list of wanted fields must name each field once and not be empty.
    static func validate(_ fields: [SampleField]) throws {
        guard !fields.isEmpty, Set(fields.map(\.name)).count == fields.count else {
            throw DataPipelineError.invalidOption("fields must be distinct and at least one, got [\(fields.names)]")
        }
    }
}

extension Array where Element == SampleField {
    /// "image, text" for messages.
    var names: String { map(\.name).joined(separator: ", ") }
}
