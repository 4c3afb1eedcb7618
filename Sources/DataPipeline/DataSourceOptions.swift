/// Dataset selection as the CLI expresses it (OpenCLIP's `--dataset-type`, `--train-data`, `--csv-*` options).
public struct DataSourceOptions: Sendable {
    public enum DatasetType: String, Sendable, CaseIterable {
        /// From the data string: `.csv`/`.tsv` → csv, otherwise webdataset; no data → synthetic.
        case auto
        case webdataset, csv, synthetic
    }

    public var datasetType: DatasetType
    /// Shard pattern(s) or CSV path(s), `::`-joined; nil for synthetic.
    public var data: String?
    /// What every sample must have (WebDataset members by extension, CSV columns by `csvKeys`); samples lacking one are
    /// skipped and counted, a field no sample of a shard or CSV file has is an error. Synthetic data has image, text, label.
    public var fields: [SampleField]
    /// Byte fields read when a WebDataset sample has them (empty bytes when it does not); other sources ignore them.
    public var optionalFields: [SampleField] = []
    /// The CSV column of each field (OpenCLIP's `--csv-img-key`, `--csv-caption-key`, and `--csv-label-key`,
    /// `--csv-labels-key`, `--csv-audio-key`); a field not listed reads `CSVSource.defaultColumn(for:)`.
    public var csvKeys: [SampleField: String]
    public var csvSeparator: String
    public var shuffleBufferSize: Int
    /// Synthetic dataset parameters (used when the type resolves to synthetic).
    public var synthetic: SyntheticShapes
    public var syntheticSplit: SyntheticShapes.Split
    /// A sample lacking a wanted field (WebDataset members, CSV cells) is skipped with a warning (true) or an error naming
    /// it (false).
    public var skipIncomplete = true

    public init(datasetType: DatasetType = .auto, data: String? = nil, csvImageKey: String = "filepath", csvCaptionKey: String = "title",
                csvSeparator: String = "\t", shuffleBufferSize: Int = 5000, synthetic: SyntheticShapes = SyntheticShapes(),
                syntheticSplit: SyntheticShapes.Split = .train, fields: [SampleField] = SampleField.imageText,
                csvKeys: [SampleField: String] = [:]) {
        self.datasetType = datasetType
        self.data = data
        self.fields = fields
        self.csvKeys = csvKeys.merging([.image: csvImageKey, .text: csvCaptionKey]) { explicit, _ in explicit }
        self.csvSeparator = csvSeparator
        self.shuffleBufferSize = shuffleBufferSize
        self.synthetic = synthetic
        self.syntheticSplit = syntheticSplit
    }

    /// The CSV column of the image field.
    public var csvImageKey: String {
        get { csvKeys[.image] ?? CSVSource.defaultColumn(for: .image) }
        set { csvKeys[.image] = newValue }
    }

    /// The CSV column of the text field.
    public var csvCaptionKey: String {
        get { csvKeys[.text] ?? CSVSource.defaultColumn(for: .text) }
        set { csvKeys[.text] = newValue }
    }

    /// The concrete type `auto` resolves to.
    public var resolvedType: DatasetType {
        guard datasetType == .auto else { return datasetType }
        guard let data, !data.isEmpty else { return .synthetic }
        let first = (data.components(separatedBy: "::").first ?? data).lowercased()
        return first.hasSuffix(".csv") || first.hasSuffix(".tsv") ? .csv : .webdataset
    }

    /// Opens the selected source.
    public func makeSource(warnings: WarningLog = WarningLog()) throws -> SampleSource {
        switch resolvedType {
        case .synthetic, .auto:
            let source = synthetic.source(syntheticSplit, audio: fields.contains(.audio))
            _ = try DataLoader.resolveFields(fields, of: source)
            return source
        case .webdataset:
            guard let data else { throw DataPipelineError.invalidOption("webdataset needs a shard pattern") }
            return try WebDatasetSource(shardSpec: data, fields: fields, optionalFields: optionalFields, shuffleBufferSize: shuffleBufferSize,
                                        warnings: warnings, skipIncomplete: skipIncomplete)
        case .csv:
            guard let data else { throw DataPipelineError.invalidOption("csv dataset needs a file path") }
            return try CSVSource(csvSpec: data, fields: fields, columns: csvKeys, separator: csvSeparator, warnings: warnings,
                                 skipIncomplete: skipIncomplete)
        }
    }
}
