/// One undecoded example as a source provides it: a value per field name.
public struct RawSample: Sendable {
    public enum Image: Sendable {
        /// File bytes (PNG/JPEG/...) still to decode.
        case encoded([UInt8])
        /// Pixels rendered directly (synthetic data).
        case decoded(RGBImage)
    }

    /// A field's content, in the form its kind calls for (`SampleField.Kind`).
    public enum Value: Sendable {
        case image(Image)
        case text(String)
        case label(Int)
        case labels([Int])
        case bytes([UInt8])
    }

    /// Human-readable identity, e.g. "shard-000003.tar:sample0042" or a file path; used in warnings.
    public var key: String
    /// Values by field name.
    public var values: [String: Value]

    public init(key: String, values: [String: Value]) {
        self.key = key
        self.values = values
    }

    /// An image-text sample, labelled when `label` is not -1 (what every source produced before fields existed).
    public init(image: Image, caption: String, label: Int = -1, key: String) {
        var values: [String: Value] = [SampleField.image.name: .image(image), SampleField.text.name: .text(caption)]
        if label >= 0 { values[SampleField.label.name] = .label(label) }
        self.init(key: key, values: values)
    }

    /// The value of `field`; a missing one throws, naming the sample and the field.
    public func value(of field: SampleField) throws -> Value {
        guard let value = values[field.name] else {
            throw DataPipelineError.missingField(sample: key, field: field.name, detail: "has " + values.keys.sorted().joined(separator: ", "))
        }
        return value
    }

    /// The `text` field, or "" without one.
    public var caption: String {
        if case .text(let text) = values[SampleField.text.name] { return text }
        return ""
    }

    /// The `label` field, or -1 without one.
    public var label: Int {
        if case .label(let label) = values[SampleField.label.name] { return label }
        return -1
    }

    /// Decoded pixels of the `image` field; decoding errors name the sample.
    public func decodedImage() throws -> RGBImage { try decodedImage(.image) }

    /// Decoded pixels of an image field; decoding errors name the sample.
    public func decodedImage(_ field: SampleField) throws -> RGBImage {
        switch try value(of: field) {
        case .image(.decoded(let image)): return image
        case .image(.encoded(let bytes)), .bytes(let bytes): return try ImageDecoder.decode(bytes, name: key)
        default: throw DataPipelineError.malformedSample(name: key, reason: "field '\(field.name)' is not an image")
        }
    }
}
