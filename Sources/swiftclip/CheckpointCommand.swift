import ArgumentParser
import Checkpoint
import Foundation
import Training

/// `swiftclip checkpoint`: look into and verify checkpoint files.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect or verify SwiftCLIP checkpoints.",
        subcommands: [Inspect.self, Verify.self, Keep.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a checkpoint's header, tensor table, compression ratio and verification result.")
        @Argument(help: "Checkpoint file.") var path: String

        func run() throws {
            try reportingErrors("checkpoint inspect") {
                let header = try CheckpointFile.readHeader(at: URL(fileURLWithPath: path))
                print("file: \(path)")
                print("format: \(header.format) v\(header.formatVersion)  step: \(header.step)  created: \(header.createdAt)  size: \(header.fileSize) bytes")
                // Checkpoints written before families existed record none and are CLIP's.
                if case .string(let family)? = header.metadata["family"] { print("family: \(family)") } else { print("family: clip") }
                if let data = try? JSONEncoder().encode(header.metadata), let text = String(data: data, encoding: .utf8) {
                    print("metadata: \(text.prefix(2000))")
                }
                var raw = 0, stored = 0
                print("tensors:")
                for t in header.tensors {
                    raw += t.rawSize; stored += t.compressedSize
                    print(String(format: "  %-64@ %@ %-16@ raw %10d  stored %10d  %@/%@  xxh3 %@", t.name as NSString, t.dtype,
                                 "\(t.shape)" as NSString, t.rawSize, t.compressedSize, t.filter.rawValue, t.codec.rawValue, t.checksum))
                }
                print(String(format: "%d tensors, %d raw bytes, %d stored, compression ratio %.3f", header.tensors.count, raw, stored,
                             Double(raw) / Double(max(stored, 1))))
                do {
                    _ = try CheckpointFile.verify(at: URL(fileURLWithPath: path))
                    print("verification: OK (header and every tensor checksum)")
                } catch {
                    print("verification: FAILED: \(error)")
                    throw ExitCode.failure
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify every checksum of a checkpoint; exits non-zero on any mismatch.")
        @Argument(help: "Checkpoint files.") var paths: [String]

        func run() throws {
            var failed = false
            for path in paths {
                do {
                    let header = try CheckpointFile.verify(at: URL(fileURLWithPath: path))
                    print("OK \(path) (step \(header.step), \(header.tensors.count) tensors)")
                } catch {
                    FileHandle.standardError.write(Data("FAILED \(error)\n".utf8))
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    struct Keep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark checkpoints so that --keep N never deletes them (--remove to unmark).")
        @Argument(help: "Checkpoint files (step-NNNNNNNN.sclip in a checkpoints folder).") var paths: [String]
        @Flag(name: .long, help: "Remove the mark instead.") var remove = false

        func run() throws {
            try reportingErrors("checkpoint keep") {
                for path in paths {
                    let url = URL(fileURLWithPath: path)
                    guard let step = CheckpointDirectory.step(fromFileName: url.lastPathComponent) else {
                        throw ValidationError("\(path): not a checkpoint file name (step-NNNNNNNN.sclip)")
                    }
                    let directory = try CheckpointDirectory(url: url.deletingLastPathComponent(), create: false)
                    if remove { try directory.unmarkKeep(step: step) } else { try directory.markKeep(step: step) }
                    print("\(remove ? "unmarked" : "kept") \(path)")
                }
            }
        }
    }
}
