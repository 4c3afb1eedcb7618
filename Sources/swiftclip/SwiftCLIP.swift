import ArgumentParser
import TensorCore

/// The `swiftclip` command: distributed multimodal training and its tools.
@main
struct SwiftCLIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftclip",
        abstract: "Data-parallel training of multimodal models over MPI, with OpenCLIP-compatible weights.",
        subcommands: Subcommands.all
    )

    static func main() {
        BLASKernelChoice.restartWithBetterKernelsIfNeeded()
        main(nil)
    }
}
