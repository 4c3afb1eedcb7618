import TensorCore
import Text

/// The buffers of one batch under construction: each field's array is allocated once for every slot and filled in
/// place, so a pixel is written once, where the consumer reads it.
struct BatchAssembler {
    let transform: ImageTransform
    let audio: AudioTransform
    /// Whether recordings are augmented (training mode).
    let augmentAudio: Bool
    let tokenizer: TextTokenizer
    let contextLength: Int
    let slots: Int
    private let imageFields: [SampleField], textFields: [SampleField], labelFields: [SampleField]
    private let labelSetFields: [SampleField], byteFields: [SampleField], audioFields: [SampleField]
    private let featurizer: AudioFeaturizer?
    private var images: [[Float]], spectrograms: [[Float]], tokens: [[Int32]], texts: [[String]]
    private var labels: [[Int]], labelSets: [[[Int]]], bytes: [[[UInt8]]]
    private(set) var filled = 0

    init(fields: [SampleField], slots: Int, transform: ImageTransform, audio: AudioTransform = AudioTransform(), augmentAudio: Bool = false,
         tokenizer: TextTokenizer, contextLength: Int) throws {
        self.transform = transform
        self.audio = audio
        self.augmentAudio = augmentAudio
        self.tokenizer = tokenizer
        self.contextLength = contextLength
        self.slots = slots
        func of(_ kind: SampleField.Kind) -> [SampleField] { fields.filter { $0.kind == kind } }
        imageFields = of(.image); textFields = of(.text); labelFields = of(.label); labelSetFields = of(.labels); byteFields = of(.bytes)
        audioFields = of(.audio)
        featurizer = audioFields.isEmpty ? nil : try AudioFeaturizer(transform: audio)
        spectrograms = audioFields.map { _ in [Float](repeating: 0, count: slots * audio.outputCount) }
        images = imageFields.map { _ in [Float](repeating: 0, count: slots * transform.outputCount) }
        tokens = textFields.map { _ in [Int32](repeating: 0, count: slots * contextLength) }
        texts = textFields.map { _ in [] }
        labels = labelFields.map { _ in [] }
        labelSets = labelSetFields.map { _ in [] }
        bytes = byteFields.map { _ in [] }
    }

    /// Decodes every field of `sample` first, so a bad one throws before anything is written, then fills the next
    /// slot. Every image field is augmented with its own copy of `rng`: same-sized images (an image and its mask) get
    /// the same crop; every audio field with its own copy of a stream derived from `rng`.
    mutating func append(_ sample: RawSample, rng: SplitMix64) throws {
        precondition(filled < slots, "BatchAssembler: more samples than slots")
        let decodedImages = try imageFields.map { field in
            let image = try sample.decodedImage(field)
            guard image.width > 0, image.height > 0 else { throw DataPipelineError.corruptImage(name: sample.key, reason: "empty image") }
            return image
        }
        let decodedTexts = try textFields.map { try Self.text(of: $0, in: sample) }
        let decodedLabels = try labelFields.map { try Self.classIndex(of: $0, in: sample) }
        let decodedLabelSets = try labelSetFields.map { try Self.classIndices(of: $0, in: sample) }
        let decodedBytes = try byteFields.map { try Self.bytes(of: $0, in: sample) }
        let audioRNG = AudioFeaturizer.random(from: rng)
        let decodedAudio = try audioFields.map { field in
            try featurizer!.features(of: try Self.bytes(of: field, in: sample), name: sample.key, augment: augmentAudio, rng: audioRNG)
        }

        let transform = transform, imageOffset = filled * transform.outputCount
        for (k, image) in decodedImages.enumerated() {
            var imageRNG = rng
            images[k].withUnsafeMutableBufferPointer { out in transform.apply(image, rng: &imageRNG, into: out.baseAddress! + imageOffset) }
        }
        let context = contextLength, tokenOffset = filled * contextLength
        for (k, text) in decodedTexts.enumerated() {
            let ids = tokenizer.encode(text, contextLength: context)
            tokens[k].withUnsafeMutableBufferPointer { out in
                for (i, id) in ids.prefix(context).enumerated() { out[tokenOffset + i] = id }
            }
            texts[k].append(text)
        }
        let audioOffset = filled * audio.outputCount
        for (k, values) in decodedAudio.enumerated() { spectrograms[k].replaceSubrange(audioOffset..<(audioOffset + values.count), with: values) }
        for (k, label) in decodedLabels.enumerated() { labels[k].append(label) }
        for (k, set) in decodedLabelSets.enumerated() { labelSets[k].append(set) }
        for (k, value) in decodedBytes.enumerated() { bytes[k].append(value) }
        filled += 1
    }

    /// The filled slots' content (unfilled slots, dropped samples in evaluation, are cut off).
    mutating func finish() -> BatchFields {
        var result = BatchFields()
        let unfilled = slots - filled
        for (k, field) in imageFields.enumerated() {
            images[k].removeLast(unfilled * transform.outputCount)
            result.images[field] = images[k]
        }
        for (k, field) in textFields.enumerated() {
            tokens[k].removeLast(unfilled * contextLength)
            result.tokens[field] = tokens[k]
            result.texts[field] = texts[k]
        }
        for (k, field) in audioFields.enumerated() {
            spectrograms[k].removeLast(unfilled * audio.outputCount)
            result.spectrograms[field] = spectrograms[k]
        }
        for (k, field) in labelFields.enumerated() { result.labels[field] = labels[k] }
        for (k, field) in labelSetFields.enumerated() { result.labelSets[field] = labelSets[k] }
        for (k, field) in byteFields.enumerated() { result.bytes[field] = bytes[k] }
        images = []; tokens = []; spectrograms = []  // the batch holds the only reference, so its consumer can mutate without a copy
        return result
    }

    private static func text(of field: SampleField, in sample: RawSample) throws -> String {
        switch try sample.value(of: field) {
        case .text(let text): return text
        case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: throw unreadable(field, in: sample)
        }
    }

    private static func classIndex(of field: SampleField, in sample: RawSample) throws -> Int {
        guard case .label(let index) = try sample.value(of: field) else { throw unreadable(field, in: sample) }
        return index
    }

    private static func classIndices(of field: SampleField, in sample: RawSample) throws -> [Int] {
        switch try sample.value(of: field) {
        case .labels(let indices): return indices
        case .label(let index): return [index]
        default: throw unreadable(field, in: sample)
        }
    }

    private static func bytes(of field: SampleField, in sample: RawSample) throws -> [UInt8] {
        switch try sample.value(of: field) {
        case .bytes(let bytes), .image(.encoded(let bytes)): return bytes
        case .text(let text): return Array(text.utf8)
        default: throw unreadable(field, in: sample)
        }
    }

    private static func unreadable(_ field: SampleField, in sample: RawSample) -> DataPipelineError {
        .malformedSample(name: sample.key, reason: "field '\(field.name)' cannot be read as \(field.kind.rawValue)")
    }
}
