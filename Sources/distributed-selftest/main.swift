import Distributed
import Foundation

// Multi-rank checks and benchmarks for the Distributed module; run under mpirun (or alone as one rank).
//   distributed-selftest check                                  every collective, the bucket reducer, replica
//                                                               check and feature gather against exact values
//   distributed-selftest dead-peer exit|kill|stall|stall-nonblocking [--timeout S]
//                                                               the last rank fails mid-run; the job must end
//   distributed-selftest bench-allreduce [--json]               our allReduce vs raw MPI_Allreduce, 1-256 MB
//   distributed-selftest bench-gradient-comm --parameters N [--bucket-mb 8] [--wire fp32|bf16] [--repetitions 5]
//                                                               the trainer's bucketed gradient averaging alone
//   distributed-selftest probe-allreduce [--mib 8] [--wire fp32|bf16] [--repetitions 10]
//                                                               the bus bandwidth of the raw MPI calls of one gradient
//                                                               bucket: plan's --bandwidth (fp32), --bf16-bandwidth (bf16)

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

func fail(_ message: String) -> Never {
    fputs("distributed-selftest: \(message)\n", stderr)
    exit(1)
}

do {
    switch arguments.first {
    case "check":
        let communicator = try MPICommunicator(collectiveTimeout: Double(option("--timeout") ?? "60") ?? 60)
        let failures = SelfChecks(communicator).runAll()
        try communicator.finalize()
        if failures > 0 { exit(1) }
    case "dead-peer":
        guard let mode = arguments.dropFirst().first, let failure = DeadPeerDrill.Failure(rawValue: mode) else {
            fail("dead-peer needs exit, kill, stall or stall-nonblocking")
        }
        let communicator = try MPICommunicator(collectiveTimeout: Double(option("--timeout") ?? "5") ?? 5)
        try DeadPeerDrill(communicator: communicator, failure: failure).run()
        try communicator.finalize()
    case "bench-allreduce":
        let communicator = try MPICommunicator()
        try AllReduceBenchmark(communicator: communicator, json: arguments.contains("--json"),
                               maxMegabytes: Int(option("--max-mb") ?? "256") ?? 256).run()
        try communicator.finalize()
    case "bench-gradient-comm":
        guard let parameters = option("--parameters").flatMap(Int.init), parameters > 0 else { fail("bench-gradient-comm needs --parameters N (positive)") }
        guard let bucket = Double(option("--bucket-mb") ?? "8"), bucket > 0 else { fail("--bucket-mb must be a positive number") }
        guard let wire = WirePrecision(rawValue: option("--wire") ?? "fp32") else { fail("--wire must be fp32 or bf16") }
        guard let repetitions = Int(option("--repetitions") ?? "5"), repetitions > 0 else { fail("--repetitions must be positive") }
        let communicator = try MPICommunicator()
        try GradientCommBenchmark(communicator: communicator, parameters: parameters, bucketMegabytes: bucket, wire: wire,
                                  repetitions: repetitions).run()
        try communicator.finalize()
    case "probe-allreduce":
        guard let mebibytes = Double(option("--mib") ?? "8"), mebibytes > 0 else { fail("--mib must be a positive number") }
        guard let repetitions = Int(option("--repetitions") ?? "10"), repetitions > 0 else { fail("--repetitions must be positive") }
        guard let wire = WirePrecision(rawValue: option("--wire") ?? "fp32") else { fail("--wire must be fp32 or bf16") }
        let communicator = try MPICommunicator()
        try AllReduceProbe(communicator: communicator, mebibytes: mebibytes, repetitions: repetitions, wire: wire).run()
        try communicator.finalize()
    default:
        fail("usage: distributed-selftest check | dead-peer exit|kill|stall|stall-nonblocking [--timeout S] | bench-allreduce [--json] [--max-mb N] | bench-gradient-comm --parameters N [--bucket-mb MB] [--wire fp32|bf16] [--repetitions R] | probe-allreduce [--mib MIB] [--wire fp32|bf16] [--repetitions R]")
    }
} catch {
    fail("\(error)")
}
