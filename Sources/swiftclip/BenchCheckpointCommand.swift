import ArgumentParser
import CLIP
import Distributed
import TrainingKit
import Checkpoint
import Foundation
import Training

/// `swiftclip bench-checkpoint`: checkpoint save/load speed and compression on trained weights with optimizer state.
struct BenchCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-checkpoint",
        abstract: "Train a model a few steps on random data, then time saving and loading its checkpoint against plain zstd.")

    @Option(name: .long, help: "Model name or config JSON.") var model = "clip-bench"
    @Option(name: .long, help: "Training steps before measuring (weights and AdamW moments become non-trivial).") var steps = 3
    @Option(name: .long, help: "Batch size.") var batchSize = 128
    @Flag(name: .long, help: "Print one JSON object on the last line.") var json = false

    func run() throws {
        try reportingErrors("bench-checkpoint") {
            let settings = try Families.settings(arguments: ["--model", model, "--batch-size", "\(batchSize)", "--dataset-type", "random"])
            let task = try Families.family(named: settings.task).makeTask(settings: settings)
            let engine = try StepEngine(task: task, communicator: LocalCommunicator(), hyperparameters: .init())
            let data = try task.trainingData(RunContext(settings: settings, runDirectory: NSTemporaryDirectory()))
            let trainable = [Bool](repeating: true, count: task.parameters.parameters.count)
            var stepSeconds: [Double] = []
            for _ in 0..<steps {
                let batch = try data.next()
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try engine.step(batch, trainable: trainable, learningRate: 5e-4)
                stepSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let stepTime = stepSeconds.sorted()[stepSeconds.count / 2]
            let tensors = RunCheckpoints.tensors(parameters: task.parameters, firstMoment: engine.optimizer.firstMoment,
                                                  secondMoment: engine.optimizer.secondMoment)
            var results = try CheckpointBenchmark.run(tensors: tensors)
            let rawMB = Double(tensors.reduce(0) { $0 + $1.values.count * 4 }) / 1e6  // MB as CheckpointBenchmark counts them
            // What a step waits for with background saving: the snapshot copy handed to the writer thread.
            let start = DispatchTime.now().uptimeNanoseconds
            let snapshot = RunCheckpoints.tensors(parameters: task.parameters, firstMoment: engine.optimizer.firstMoment,
                                                  secondMoment: engine.optimizer.secondMoment)
            let pause = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            precondition(snapshot.count == tensors.count)
            results["step_seconds"] = stepTime
            results["raw_mb"] = rawMB
            results["save_seconds"] = rawMB / results["save_mb_per_s"]!
            results["save_seconds_over_step_seconds"] = results["save_seconds"]! / stepTime
            results["background_pause_seconds"] = pause
            for key in results.keys.sorted() { print(String(format: "%-32@ %.4f", key as NSString, results[key]!)) }
            if json { print(String(decoding: try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys]), as: UTF8.self)) }
        }
    }
}
