import Foundation

/// Summary of a dataset for `swiftclip data inspect`.
public struct DataInspection: Sendable, CustomStringConvertible {
    public struct Range: Sendable { public var min: Int; public var mean: Double; public var max: Int }

    public var summary: String
    /// The fields every sample has.
    public var fields: [SampleField]
    public var sampleCount: Int
    /// The first few captions in dataset order (the caller may add their tokens).
    public var captions: [String]
    /// Samples decoded for the size statistics.
    public var inspected: Int
    public var width: Range?
    public var height: Range?
    /// Samples dropped while indexing plus inspected samples that failed to load or decode.
    public var skipped: Int
    /// The first failure messages met while inspecting.
    public var problems: [String]

    public var description: String {
        var lines = [summary, "fields: \(fields.names)", "samples: \(sampleCount)"]
        if let width, let height {
            lines.append(String(format: "image width  min %d mean %.1f max %d (over %d decoded)", width.min, width.mean, width.max, inspected))
            lines.append(String(format: "image height min %d mean %.1f max %d", height.min, height.mean, height.max))
        } else {
            lines.append("no image could be decoded among the inspected samples")
        }
        lines.append("skipped: \(skipped)")
        for (i, c) in captions.enumerated() { lines.append("caption \(i): \(c)") }
        for p in problems { lines.append("problem: \(p)") }
        return lines.joined(separator: "\n")
    }
}

/// Inspects a dataset without training on it.
public enum DataInspector {
    /// Counts samples, lists the first `captionCount` captions and decodes up to `imageLimit` samples (dataset order)
    /// for width/height statistics, counting those that fail.
    public static func inspect(_ options: DataSourceOptions, captionCount: Int = 5, imageLimit: Int = 256,
                               warnings: WarningLog = WarningLog(limit: 0)) throws -> DataInspection {
        let source = try options.makeSource(warnings: warnings)
        let count = try source.sampleCount()
        let order = try source.makeOrder(seed: 0, epoch: 0, shuffle: false)
        var captions: [String] = [], problems: [String] = []
        var widths: [Int] = [], heights: [Int] = []
        var failed = 0
        for position in 0..<min(count, max(captionCount, imageLimit)) {
            do {
                let sample = try source.load(id: try order.sampleID(at: position))
                if captions.count < captionCount { captions.append(sample.caption) }
                if position < imageLimit && source.fields.contains(.image) {
                    let image = try sample.decodedImage()
                    widths.append(image.width)
                    heights.append(image.height)
                }
            } catch {
                failed += 1
                if problems.count < 5 { problems.append("\(error)") }
            }
        }
        func range(_ v: [Int]) -> DataInspection.Range? {
            guard let lo = v.min(), let hi = v.max() else { return nil }
            return .init(min: lo, mean: Double(v.reduce(0, +)) / Double(v.count), max: hi)
        }
        return DataInspection(summary: source.summary, fields: source.fields, sampleCount: count, captions: captions, inspected: widths.count,
                              width: range(widths), height: range(heights), skipped: failed + source.indexingSkipped, problems: problems)
    }
}
