/// What zero-shot evaluation needs: class names, prompt templates and labelled images, whatever their origin.
public struct ZeroShotTask: Sendable {
    public var classNames: [String]
    /// Templates containing `{}`, e.g. "a photo of a {}.".
    public var templates: [String]
    /// Labelled samples (`RawSample.label` = class index); load with `LoaderOptions(mode: .evaluation, ...)`.
    public var source: SampleSource

    public init(classNames: [String], templates: [String], source: SampleSource) {
        self.classNames = classNames
        self.templates = templates
        self.source = source
    }

    /// Prompts for class `label`, one per template.
    public func prompts(forClass label: Int) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{}", with: classNames[label]) }
    }

    /// Chance-level top-1 accuracy.
    public var chanceAccuracy: Double { 1 / Double(max(1, classNames.count)) }

    /// A task from an image-folder dataset.
    public init(folder: ZeroShotFolder) {
        self.init(classNames: folder.classNames, templates: folder.templates, source: folder)
    }
}

extension SyntheticShapes {
    /// Zero-shot task over the validation split: 20 "<colour> <shape>" classes.
    public func zeroShotTask() -> ZeroShotTask {
        ZeroShotTask(classNames: Self.classNames, templates: Self.templates, source: source(.val))
    }
}
