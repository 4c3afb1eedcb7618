import DataPipeline
import Foundation
import Text
import XCTest
@testable import DataPipeline

/// A test-only tokenizer: start 1, one id per word (a stable hash into 3..<vocab), end 2, zero padding.
struct WordHashTokenizer: TextTokenizer {
    var vocabularySize: Int { 1000 }

    func encode(_ text: String, contextLength: Int) -> [Int32] {
        var ids: [Int32] = [1]
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            var h: UInt64 = 1469598103934665603
            for b in word.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
            ids.append(Int32(3 + h % 997))
        }
        ids = Array(ids.prefix(contextLength - 1)) + [2]
        return ids + [Int32](repeating: 0, count: contextLength - ids.count)
    }
}

/// A scratch folder inside the package's .build directory, removed when the test ends.
func makeScratchDirectory(_ test: XCTestCase, file: String = #filePath) throws -> String {
    let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let dir = root.appendingPathComponent(".build/test-scratch/DataPipelineTests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Collects warnings instead of printing them.
final class WarningCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return stored }
    lazy var log = WarningLog(limit: 1000) { [unowned self] m in self.lock.lock(); self.stored.append(m); self.lock.unlock() }
}

/// A smooth colour test pattern (JPEG-friendly).
func gradientImage(width: Int, height: Int, seed: Int = 0) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let o = (y * width + x) * 3
            pixels[o] = UInt8((x * 255) / max(1, width - 1))
            pixels[o + 1] = UInt8((y * 255) / max(1, height - 1))
            pixels[o + 2] = UInt8((seed * 37 + (x + y) * 2) % 256)
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Writes a shard from (key, [(extension, contents)]) in order.
func writeShard(_ path: String, _ samples: [(String, [(String, [UInt8])])]) throws {
    let writer = try TarWriter(path: path)
    for (key, members) in samples {
        for (ext, contents) in members { try writer.add(name: key + "." + ext, contents: contents) }
    }
    try writer.finish()
}
