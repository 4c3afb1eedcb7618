// swift-tools-version:6.0
import Foundation
import PackageDescription

/// CPU the numeric modules are compiled for: `SWIFTCLIP_TARGET_CPU` (set by launch/build-env to haswell, i.e. AVX2 + FMA, on
/// machines with AVX2 and FMA); unset or `none` builds portable baseline code.
/// `SWIFTCLIP_FMA` tells the kernels that a fused multiply-add instruction exists (every such target CPU and arm64 has
/// one), so `mulAdd` may use it; without it a fused multiply-add would be a slow, unvectorised libm call.
let targetCPU: [SwiftSetting] = {
    #if arch(arm64)
    let fma: [SwiftSetting] = [.define("SWIFTCLIP_FMA")]
    #else
    let fma: [SwiftSetting] = []
    #endif
    guard let cpu = ProcessInfo.processInfo.environment["SWIFTCLIP_TARGET_CPU"], !cpu.isEmpty, cpu != "none" else { return fma }
    return [.unsafeFlags(["-target-cpu", cpu]), .define("SWIFTCLIP_FMA")]
}()

/// System libraries found through pkg-config; `launch/setup` installs the Debian packages.
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt(apt)])
}

let package = Package(
    name: "SwiftCLIP",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swiftclip", targets: ["swiftclip"]),
        .executable(name: "swiftclip-bench", targets: ["swiftclip-bench"]),
        .library(name: "SwiftCLIP", targets: ["TensorCore", "NN", "CLIP", "Optim", "Distributed", "Text", "DataPipeline", "Checkpoint",
                                              "TrainingKit", "Training", "CaptionMetrics", "Retrieval"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // C access.
        systemLibrary("MPISystem", pkgConfig: "ompi-c", apt: ["libopenmpi-dev", "openmpi-bin"]),
        .target(name: "CMPI", dependencies: ["MPISystem"]),
        systemLibrary("COpenBLAS", pkgConfig: "openblas", apt: ["libopenblas-dev"]),
        systemLibrary("CZstd", pkgConfig: "libzstd", apt: ["libzstd-dev"]),
        systemLibrary("CXXHash", pkgConfig: "libxxhash", apt: ["libxxhash-dev"]),
        systemLibrary("CSpng", pkgConfig: "spng", apt: ["libspng-dev"]),
        systemLibrary("CTurboJPEG", pkgConfig: "libturbojpeg", apt: ["libturbojpeg0-dev"]),
        systemLibrary("CSndfile", pkgConfig: "sndfile", apt: ["libsndfile1-dev"]),

        // Swift modules; dependencies point one way (see DEVELOPERS.md).
        .target(name: "TensorCore", dependencies: ["COpenBLAS"], swiftSettings: targetCPU),
        .target(name: "NN", dependencies: ["TensorCore"]),
        .target(name: "Optim", dependencies: ["TensorCore"], swiftSettings: targetCPU),
        .target(name: "Distributed", dependencies: ["TensorCore", "CMPI"]),
        // Tokenizers and caption cleaning; no dependency, so text-only tools and other modalities can use them alone.
        .target(name: "Text", swiftSettings: targetCPU),
        .target(name: "DataPipeline", dependencies: ["TensorCore", "Text", "Audio", "CSpng", "CTurboJPEG"], swiftSettings: targetCPU),
        .target(name: "Checkpoint", dependencies: ["TensorCore", "CZstd", "CXXHash"]),
        // The emoji image-caption data set: an sfnt colour-bitmap reader and Unicode's emoji list -> WebDataset shards.
        .target(name: "EmojiData", dependencies: ["TensorCore", "DataPipeline", "Audio"]),
        // WAV/FLAC decoding (libsndfile), band-limited resampling and Kaldi log-mel filter banks; no Swift dependency.
        .target(name: "Audio", dependencies: ["CSndfile"], swiftSettings: targetCPU),
        // BLEU and CIDEr-D as the COCO caption evaluation computes them; Foundation only, so any tool can score captions.
        .target(name: "CaptionMetrics"),
        // What model families and the engine share: the TrainingTask protocol, settings, batches, data setup.
        .target(name: "TrainingKit", dependencies: [
            "TensorCore", "NN", "Optim", "Distributed", "Text", "DataPipeline", "Checkpoint", .product(name: "Yams", package: "Yams"),
        ]),
        // Model families: each a module on TrainingKit, registered in Training/Families.swift.
        .target(name: "CLIP", dependencies: ["NN", "TensorCore", "TrainingKit", "Text", "DataPipeline", "Distributed", "Checkpoint", "Optim"],
                swiftSettings: targetCPU),
        .target(name: "CoCa", dependencies: ["NN", "TensorCore", "TrainingKit", "Text", "DataPipeline", "Distributed", "Checkpoint", "CaptionMetrics"],
                swiftSettings: targetCPU),
        .target(name: "Fusion", dependencies: ["NN", "TensorCore", "TrainingKit", "Text", "DataPipeline", "Distributed", "Checkpoint"],
                swiftSettings: targetCPU),
        .target(name: "Bind", dependencies: ["NN", "TensorCore", "TrainingKit", "Text", "DataPipeline", "Distributed", "Checkpoint"],
                swiftSettings: targetCPU),
        // The engine: trainer, step engine, stage controller, checkpoints, logging; generic over families.
        .target(name: "Training", dependencies: [
            "TensorCore", "NN", "Optim", "Distributed", "Text", "DataPipeline", "Checkpoint", "TrainingKit", "CLIP", "CoCa", "Fusion", "Bind",
        ]),
        // Offline embedding of collections and their search indexes; never the trainer (models come in through TrainingKit).
        .target(name: "Retrieval", dependencies: [
            "TensorCore", "NN", "Text", "DataPipeline", "Checkpoint", "Distributed", "TrainingKit", "CLIP", "Bind",
        ], swiftSettings: targetCPU),
        // The HTTP search service over an index and an embedding model; never the trainer (the CLI hands it the loaded model).
        .target(name: "Serving", dependencies: ["Retrieval", "DataPipeline", .product(name: "Hummingbird", package: "hummingbird")]),
        // Multi-rank self-test and all-reduce benchmark of Distributed, run under mpirun by launch/tests and Benchmarks.
        .executableTarget(name: "distributed-selftest", dependencies: ["Distributed", "CMPI", "TensorCore"]),
        .executableTarget(name: "swiftclip", dependencies: [
            "Training", "TrainingKit", "CLIP", "CoCa", "DataPipeline", "Checkpoint", "Distributed", "TensorCore", "CaptionMetrics", "Retrieval",
            "Serving", "EmojiData", "Audio",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "swiftclip-bench", dependencies: ["TensorCore", "Audio"]),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "NN", "Optim", "TrainingKit"]),
        .testTarget(name: "TrainingKitTests", dependencies: ["TrainingKit", "Checkpoint", "NN", "TensorCore"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "TextTests", dependencies: ["Text", "TensorCore"], exclude: ["Fixtures"]),
        .testTarget(name: "DataPipelineTests", dependencies: ["DataPipeline", "Audio", "Text", "TensorCore"]),
        .testTarget(name: "EmojiDataTests", dependencies: ["EmojiData", "DataPipeline", "Audio"], exclude: ["Fixtures"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "TensorCore"]),
        .testTarget(name: "CaptionMetricsTests", dependencies: ["CaptionMetrics"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        .testTarget(name: "FusionTests", dependencies: ["Fusion", "Training", "TrainingKit", "NN", "TensorCore"]),
        .testTarget(name: "BindTests", dependencies: ["Bind", "Training", "TrainingKit", "DataPipeline", "Distributed", "NN", "TensorCore"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "CLIP", "TrainingKit", "DataPipeline", "Distributed", "TensorCore"]),
        .testTarget(name: "AudioTests", dependencies: ["Audio"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Retrieval", "CLIP", "TrainingKit", "DataPipeline", "TensorCore"]),
    ],
    swiftLanguageModes: [.v5]
)
