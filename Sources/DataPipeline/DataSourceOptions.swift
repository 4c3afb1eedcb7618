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
    public var csvImageKey: String
    public var csvCaptionKey: String
    public var csvSeparator: String
    public var shuffleBufferSize: Int
    /// Synthetic dataset parameters (used when the type resolves to synthetic).
    public var synthetic: SyntheticShapes
    public var syntheticSplit: SyntheticShapes.Split

    public init(datasetType: DatasetType = .auto, data: String? = nil, csvImageKey: String = "filepath", csvCaptionKey: String = "title",
                csvSeparator: String = "\t", shuffleBufferSize: Int = 5000, synthetic: SyntheticShapes = SyntheticShapes(),
                syntheticSplit: SyntheticShapes.Split = .train) {
        self.datasetType = datasetType
        self.data = data
        self.csvImageKey = csvImageKey
        self.csvCaptionKey = csvCaptionKey
        self.csvSeparator = csvSeparator
        self.shuffleBufferSize = shuffleBufferSize
        self.synthetic = synthetic
        self.syntheticSplit = syntheticSplit
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
            return synthetic.source(syntheticSplit)
        case .webdataset:
            guard let data else { throw DataPipelineError.invalidOption("webdataset needs a shard pattern") }
            return try WebDatasetSource(shardSpec: data, shuffleBufferSize: shuffleBufferSize, warnings: warnings)
        case .csv:
            guard let data else { throw DataPipelineError.invalidOption("csv dataset needs a file path") }
            return try CSVSource(csvSpec: data, imageKey: csvImageKey, captionKey: csvCaptionKey, separator: csvSeparator)
        }
    }
}
