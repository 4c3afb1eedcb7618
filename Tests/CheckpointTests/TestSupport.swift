import Foundation
import TensorCore
import XCTest
@testable import Checkpoint

extension SplitMix64 {
    /// Standard normal sample (Box–Muller) in Double, as the tests' data has always been drawn.
    mutating func gaussian() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

enum TestData {
    /// Values from N(0, 0.02), the usual transformer initialisation.
    static func normal(_ count: Int, std: Double = 0.02, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(generator.gaussian() * std) }
    }

    /// Weights that look trained: N(0, 0.02) init, then 20 deterministic SGD steps with weight decay toward a
    /// smooth per-row target, which leaves full-entropy mantissas but coherent signs and exponents.
    static func trainedLike(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var weights = normal(rows * columns, seed: seed)
        let learningRate: Float = 0.05, weightDecay: Float = 0.1
        for step in 0..<20 {
            for row in 0..<rows {
                for column in 0..<columns {
                    let index = row * columns + column
                    let target = 0.03 * sin(Float(row) * 0.11 + Float(column) * 0.013 + Float(step) * 0.05)
                    let gradient = (weights[index] - target) + weightDecay * weights[index]
                    weights[index] -= learningRate * gradient
                }
            }
        }
        return weights
    }

    /// Arbitrary bit patterns, including NaNs with payloads, infinities, subnormals and -0.
    static func arbitraryBits(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        var values = (0..<count).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())) }
        let specials: [Float] = [.nan, -.nan, Float(bitPattern: 0x7FC0_1234), .infinity, -.infinity,
                                 -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for (index, special) in specials.enumerated() where index < count { values[index] = special }
        return values
    }
}

/// A fresh folder under the system temporary directory, removed when the test ends.
func makeScratchDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("swiftclip-checkpoint-tests-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Reads a file, lets `edit` change its bytes, and writes it back in place.
func editFile(_ url: URL, _ edit: (inout [UInt8]) -> Void) throws {
    var bytes = [UInt8](try Data(contentsOf: url))
    edit(&bytes)
    try Data(bytes).write(to: url)
}

/// Edits the JSON header bytes in place (same length) and fixes the header checksum.
func forgeHeaderBytes(_ file: URL, _ edit: (inout [UInt8]) -> Void) throws {
    try editFile(file) { bytes in
        let length = Int(bytes[16..<24].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        var json = Array(bytes[32..<(32 + length)])
        edit(&json)
        let preamble = CheckpointFormat.preamble(headerLength: json.count, headerChecksum: json.withUnsafeBytes { xxh3($0) })
        bytes.replaceSubrange(0..<(32 + length), with: preamble + json)
    }
}

/// Asserts `body` throws a `CheckpointError` and returns its one-line description.
func checkpointErrorDescription(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        try body()
        XCTFail("expected a CheckpointError, nothing was thrown", file: file, line: line)
    } catch let error as CheckpointError {
        let text = error.description
        XCTAssertFalse(text.contains("\n"), "error should be one line: \(text)", file: file, line: line)
        return text
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
    }
    return ""
}

/// The run state a trainer stores, with every field the checkpoint issue lists.
struct RunState: Codable, Equatable {
    struct Optimizer: Codable, Equatable {
        var name: String
        var learningRate: Double
        var betas: [Double]
        var epsilon: Double
        var weightDecay: Double
    }
    struct Schedule: Codable, Equatable {
        var kind: String
        var warmupSteps: Int
        var totalSteps: Int
        var lastLearningRate: Double
    }
    var config: [String: String]
    var step: Int
    var epoch: Int
    var stage: String
    var worldSize: Int
    var globalSampleIndex: Int64
    var shuffleSeed: UInt64
    var shuffleEpoch: Int
    var rngStates: [UInt64]
    var optimizer: Optimizer
    var schedule: Schedule
    var lastLoss: Double

    static let example = RunState(
        config: ["model": "ViT-B-32", "precision": "fp32", "dataset": "cc3m"],
        step: 1234, epoch: 2, stage: "main", worldSize: 16, globalSampleIndex: 9_876_543_210,
        shuffleSeed: 0xDEAD_BEEF_CAFE_F00D, shuffleEpoch: 2,
        rngStates: [UInt64.max, 0, 0x8000_0000_0000_0001, 42],
        optimizer: Optimizer(name: "adamw", learningRate: 5e-4, betas: [0.9, 0.98], epsilon: 1e-6, weightDecay: 0.2),
        schedule: Schedule(kind: "cosine", warmupSteps: 10_000, totalSteps: 100_000, lastLearningRate: 0.000123456789),
        lastLoss: 3.14159)
}
