import Foundation

extension TextTokenizer {
    /// Encodes many captions into one row-major `[texts.count, contextLength]` buffer, in parallel for big batches.
    ///
    /// Rows are independent and the tokenizers are thread-safe, so the batch is split into contiguous chunks,
    /// one per worker, each writing its own rows of the shared buffer.
    public func encodeBatch(_ texts: [String], contextLength: Int) -> [Int32] {
        var rows = [Int32](repeating: 0, count: texts.count * contextLength)
        let workers = texts.count >= 256 ? min(ProcessInfo.processInfo.activeProcessorCount, texts.count / 128) : 1
        let chunk = (texts.count + max(workers, 1) - 1) / max(workers, 1)
        rows.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress
            let encodeChunk = { (worker: Int) in
                let end = min(texts.count, (worker + 1) * chunk)
                guard worker * chunk < end, let base else { return }
                for index in (worker * chunk)..<end {
                    let row = self.encode(texts[index], contextLength: contextLength)
                    row.withUnsafeBufferPointer { (base + index * contextLength).update(from: $0.baseAddress!, count: contextLength) }
                }
            }
            if workers <= 1 { encodeChunk(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: encodeChunk) }
        }
        return rows
    }
}
