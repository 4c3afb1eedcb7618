import Foundation

/// A zero-shot evaluation set in image-folder layout: one subfolder per class (sorted by name = label order), each
/// holding images; `classnames.txt` (one display name per line, in sorted-folder order) and `templates.txt` (one
/// prompt per line containing `{}`) are optional.
public final class ZeroShotFolder: SampleSource, @unchecked Sendable {
    public let root: String
    public let classNames: [String]
    public let templates: [String]
    /// (image path, label) in folder-then-file sorted order.
    public let items: [(path: String, label: Int)]

    /// Templates used when the folder has no `templates.txt`.
    public static let defaultTemplates = ["a photo of a {}."]
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp"]

    public init(root: String) throws {
        self.root = root
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataPipelineError.fileNotFound(path: root)
        }
        let rootURL = URL(fileURLWithPath: root)
        let folders = try Self.contents(of: root).filter { name in
            var dir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: rootURL.appendingPathComponent(name).path, isDirectory: &dir) && dir.boolValue
        }.sorted()
        guard !folders.isEmpty else { throw DataPipelineError.cannotRead(path: root, reason: "no class subfolders") }

        let namesPath = rootURL.appendingPathComponent("classnames.txt").path
        if fm.fileExists(atPath: namesPath) {
            let names = try Self.lines(namesPath)
            guard names.count == folders.count else {
                throw DataPipelineError.cannotRead(path: namesPath, reason: "\(names.count) names for \(folders.count) class folders")
            }
            classNames = names
        } else {
            classNames = folders
        }
        let templatesPath = rootURL.appendingPathComponent("templates.txt").path
        if fm.fileExists(atPath: templatesPath) {
            let t = try Self.lines(templatesPath)
            guard !t.isEmpty, t.allSatisfy({ $0.contains("{}") }) else {
                throw DataPipelineError.cannotRead(path: templatesPath, reason: "every template must contain {}")
            }
            templates = t
        } else {
            templates = Self.defaultTemplates
        }
        var items: [(String, Int)] = []
        for (label, folder) in folders.enumerated() {
            let folderPath = rootURL.appendingPathComponent(folder).path
            for file in try Self.contents(of: folderPath).sorted()
            where Self.imageExtensions.contains(URL(fileURLWithPath: file).pathExtension.lowercased()) {
                items.append((folderPath + "/" + file, label))
            }
        }
        guard !items.isEmpty else { throw DataPipelineError.cannotRead(path: root, reason: "no images in the class folders") }
        self.items = items
    }

    /// Prompts for one class: every template with `{}` replaced by the class name.
    public func prompts(forClass label: Int) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{}", with: classNames[label]) }
    }

    public var summary: String { "zero-shot folder \(root): \(classNames.count) classes, \(items.count) images" }
    public var indexingSkipped: Int { 0 }
    /// The class name stands in as each image's caption.
    public var fields: [SampleField] { [.image, .text, .label] }
    public func sampleCount() throws -> Int { items.count }

    public func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder {
        PermutedOrder(count: items.count, seed: seed, epoch: epoch, shuffle: shuffle)
    }

    public func load(id: Int) throws -> RawSample {
        let item = items[id]
        return RawSample(image: .encoded(try readWholeFile(item.path)), caption: classNames[item.label], label: item.label, key: item.path)
    }

    static func contents(of path: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw DataPipelineError.cannotRead(path: path, reason: "cannot list folder")
        }
    }

    static func lines(_ path: String) throws -> [String] {
        String(decoding: try readWholeFile(path), as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}
