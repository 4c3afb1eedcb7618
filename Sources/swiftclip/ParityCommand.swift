import ArgumentParser
import Distributed
import Foundation
import Training

/// `swiftclip parity`: checks SwiftCLIP against a folder of OpenCLIP reference outputs.
struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compare SwiftCLIP's features, losses, gradients and AdamW step with OpenCLIP's outputs in a fixture folder.",
        discussion: "The folder holds config.json, weights.safetensors, batch.safetensors, expected.safetensors and optionally adamw_step.safetensors (the layout of fixtures/clip-tiny; a config with a multimodal_cfg is checked as CoCa, the layout of fixtures/coca-tiny). Prints the max error per quantity and PASS/FAIL; exits non-zero on any failure. Under `mpirun -np N` it also checks distN.safetensors when the folder has one (rank r takes its contiguous slice of the batch).")

    @Option(name: .long, help: "Fixture folder.")
    var fixture: String

    @Flag(name: .long, help: "Print only failures and the summary.")
    var quiet = false

    func run() throws {
        let communicator = try MPILaunch.communicator()
        var results: [ParityResult]
        if CoCaParity.isCoCaFixture(fixture) {
            let parity = try CoCaParity(fixture: fixture)
            results = communicator.rank == 0 ? try parity.run() : []
            results += try parity.runDistributed(communicator: communicator)
        } else {
            let parity = try Parity(fixture: fixture)
            results = communicator.rank == 0 ? try parity.run() : []
            results += try parity.runDistributed(communicator: communicator)
        }
        try MPILaunch.finish(communicator)
        if communicator.rank != 0 { return }
        let failures = results.filter { !$0.passed }
        for r in results where !quiet || !r.passed {
            let line = String(format: "%@  %-72@ max abs %.3e  rel %.3e  tol %.1e",
                              r.passed ? "PASS" : "FAIL", r.quantity as NSString, r.maxAbsoluteError, r.maxRelativeError, r.tolerance)
            print(line)
        }
        print("parity: \(results.count - failures.count) passed, \(failures.count) failed (\(fixture), \(communicator.size) rank(s))")
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
