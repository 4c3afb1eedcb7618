import ArgumentParser

/// The `swiftclip` command: distributed CLIP training and its tools.
@main
struct SwiftCLIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftclip",
        abstract: "Data-parallel CLIP training over MPI, with OpenCLIP-compatible weights.",
        subcommands: Subcommands.all
    )
}
