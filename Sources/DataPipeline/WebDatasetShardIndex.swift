import Foundation

/// The samples of one WebDataset shard that have every wanted field, and where each field's member lies.
///
/// Members map to fields by extension: `jpg|jpeg|png|webp` → `image`, `txt` → `text` (a `json` member's "caption"
/// string stands in when there is no `txt`), `wav|flac` → `audio`, `cls` → `label`, `json` → `json`; any other
/// extension is an extra field named by it (`seg.png`, `labels`, ...), and a `json` member's "labels" array stands in
/// for a missing `labels` member. The first member of a field wins.
struct ShardIndex: Sendable {
    struct Member: Sendable { var key: String }

    /// Where one field's bytes are in the shard; a caption or label set taken from a JSON member is parsed on load.
    struct Span: Sendable {
        var offset: Int, size: Int
        var isInJSON: Bool
    }

    var members: [Member]
    /// One span per wanted field and then one per optional field (nil: the sample has none), per member, in the order of
    /// the fields the index was built for.
    var spans: [Span?]
    /// Samples dropped: lacking a wanted field, or incomplete at a damaged end.
    var skipped: Int
    /// Set when a wanted field is in no sample of a shard that has samples: a wrong field or the wrong data, which
    /// skipping every sample would only hide.
    var absentField: DataPipelineError?
    /// The first sample lacking a wanted field, for sources that refuse incomplete samples rather than skip them.
    var firstIncomplete: DataPipelineError?

    static let empty = ShardIndex(members: [], spans: [], skipped: 0, absentField: nil, firstIncomplete: nil)

    static func fieldName(forExtension ext: String) -> String {
        switch ext {
        case "jpg", "jpeg", "png", "webp": return SampleField.image.name
        case "txt": return SampleField.text.name
        case "wav", "flac": return SampleField.audio.name
        case "cls": return SampleField.label.name
        default: return ext  // "json" and every extra field
        }
    }

    /// WebDataset's key rule: directory + basename up to its first dot; the extension is the rest, lower-cased.
    static func splitKey(_ name: String) -> (key: String, ext: String) {
        let slash = name.lastIndex(of: "/")
        let baseStart = slash.map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[baseStart...].firstIndex(of: ".") else { return (name, "") }
        return (String(name[..<dot]), name[name.index(after: dot)...].lowercased())
    }
}

extension ShardIndex {
    /// Groups consecutive members by key and keeps the samples that have all `fields`. Samples lacking one are counted
    /// and reported through `warnings` (or, unless `skipIncomplete`, the first is kept as `firstIncomplete`), unless no
    /// sample of the shard has that field (then `absentField` is set). `optionalFields` are located when a sample has
    /// them and never skip one.
    init(scan: TarScan, shardName: String, fields: [SampleField], optionalFields: [SampleField] = [], warnings: WarningLog,
         skipIncomplete: Bool = true) {
        self = .empty
        var lacking: [(key: String, field: SampleField, extensions: [String])] = []
        var presence = [Int](repeating: 0, count: fields.count)
        var extensionsSeen = Set<String>()
        var samplesSeen = 0
        var currentKey: String? = nil
        var pending: [(ext: String, entry: TarEntry)] = []

        func flush() {
            guard let key = currentKey else { return }
            samplesSeen += 1
            let found = fields.map { Self.span(for: $0, in: pending) }
            for (i, span) in found.enumerated() where span != nil { presence[i] += 1 }
            if let missing = found.firstIndex(where: { $0 == nil }) {
                skipped += 1
                lacking.append((key, fields[missing], pending.map(\.ext)))
            } else {
                members.append(Member(key: key))
                spans += found + optionalFields.map { Self.span(for: $0, in: pending) }
            }
        }

        for entry in scan.entries {
            let (key, ext) = Self.splitKey(entry.name)
            guard !ext.isEmpty else { continue }
            if key != currentKey {
                flush()
                currentKey = key
                pending.removeAll(keepingCapacity: true)
            }
            pending.append((ext, entry))
            extensionsSeen.insert(ext)
        }
        if let damage = scan.damage {
            // A complete sample just before the damage is kept; the damaged (incomplete) sample counts as one skip.
            if fields.allSatisfy({ Self.span(for: $0, in: pending) != nil }) { flush() }
            skipped += 1
            warnings.warn("\(shardName): \(damage); using \(members.count) sample(s) before the damage")
        } else {
            flush()
        }
        if samplesSeen > 0, let absent = presence.firstIndex(of: 0) {
            let detail = "\(samplesSeen) sample(s) with members " + extensionsSeen.sorted().joined(separator: ", ")
            absentField = .fieldNotInDataset(source: shardName, field: fields[absent].name, detail: detail)
            return
        }
        for sample in lacking {
            let name = shardName + ":" + sample.key, detail = "members " + sample.extensions.joined(separator: ", ")
            guard skipIncomplete else {
                firstIncomplete = .incompleteSample(sample: name, field: sample.field.name, detail: detail)
                return
            }
            warnings.warn("\(DataPipelineError.missingField(sample: name, field: sample.field.name, detail: detail)); sample skipped")
        }
    }

    /// The first member holding `field`; for `text` and `labels`, a JSON member when there is no member of their own.
    static func span(for field: SampleField, in members: [(ext: String, entry: TarEntry)]) -> Span? {
        if let member = members.first(where: { fieldName(forExtension: $0.ext) == field.name }) {
            return Span(offset: member.entry.dataOffset, size: member.entry.size, isInJSON: false)
        }
        if field == .text || field == .labels, let json = members.first(where: { $0.ext == "json" }) {
            return Span(offset: json.entry.dataOffset, size: json.entry.size, isInJSON: true)
        }
        return nil
    }
}
