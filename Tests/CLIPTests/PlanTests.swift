import Foundation
@testable import CLIP
import NN
import XCTest

/// Formulas of the scaling model, checked against numbers worked out by hand.
final class PlanTests: XCTestCase {
    func testRingCollectivesByHand() {
        // 1 GB over 4 ranks at 10 GB/s, 10 µs: all-reduce 2·3·10 µs + 2·3/4·0.1 s.
        XCTAssertEqual(CollectiveCost.ringAllReduce(bytes: 1e9, ranks: 4, bandwidth: 1e10, latency: 1e-5), 0.15006, accuracy: 1e-12)
        XCTAssertEqual(CollectiveCost.ringAllGather(totalBytes: 1e9, ranks: 4, bandwidth: 1e10, latency: 1e-5), 0.07503, accuracy: 1e-12)
        XCTAssertEqual(CollectiveCost.ringReduceScatter(totalBytes: 8e6, ranks: 2, bandwidth: 1e9, latency: 0), 0.004, accuracy: 1e-15)
        XCTAssertEqual(CollectiveCost.ringAllReduce(bytes: 1e9, ranks: 1, bandwidth: 1e10, latency: 1e-5), 0)
    }

    func testBucketedAllReducePaysLatencyPerBucket() {
        let mib = 1024.0 * 1024
        let r = CollectiveCost.bucketedAllReduce(bytes: 100e6, bucketBytes: 25 * mib, ranks: 8, bandwidth: 1e10, latency: 1e-4)
        // 4 buckets: bandwidth term of the whole, latency 2·7·α four times.
        let bandwidthTerm: Double = 2 * 7.0 / 8 * 100e6 / 1e10
        let latencyTerm: Double = 4 * 14 * 1e-4
        XCTAssertEqual(r.total, bandwidthTerm + latencyTerm, accuracy: 1e-12)
        let lastBytes = 100e6 - 3 * 25 * mib
        let lastTerm: Double = 2 * 7.0 / 8 * lastBytes / 1e10
        XCTAssertEqual(r.lastBucket, lastTerm + 14e-4, accuracy: 1e-12)
        XCTAssertEqual(CollectiveCost.bucketedAllReduce(bytes: 1e6, bucketBytes: 25 * mib, ranks: 8, bandwidth: 1e10, latency: 0).total,
                       CollectiveCost.ringAllReduce(bytes: 1e6, ranks: 8, bandwidth: 1e10, latency: 0), accuracy: 1e-15)
    }

    func testCommunicationCPUAndTransferArePipelinedTheSlowerSetsThePace() {
        // 2 ranks at 1 GB/s: an all-reduce of 4e8 bytes sends 4e8 bytes per rank, 0.4 s on the wire. With 0.5 ns of
        // CPU per byte the wire is the limit, with 2 ns the CPU: 0.4 s and 0.8 s, never their sum (0.6 s, 1.2 s).
        XCTAssertEqual(CollectiveCost.ringAllReduce(bytes: 4e8, ranks: 2, bandwidth: 1e9, latency: 0, cpuPerByte: 0.5e-9), 0.4, accuracy: 1e-12)
        XCTAssertEqual(CollectiveCost.ringAllReduce(bytes: 4e8, ranks: 2, bandwidth: 1e9, latency: 0, cpuPerByte: 2e-9), 0.8, accuracy: 1e-12)
        // Latency terms still add: 4 ranks, 3 ns per byte against 1 ns on the wire, 10 µs per message.
        XCTAssertEqual(CollectiveCost.ringAllReduce(bytes: 4e8, ranks: 4, bandwidth: 1e9, latency: 1e-5, cpuPerByte: 3e-9),
                       6 * 1e-5 + 6e8 * 3e-9, accuracy: 1e-12)
    }

    func testCommunicationCPUCostOfTheGradientsAtTenGigabit() throws {
        // The measured shape of clip-bench's gradient averaging on 2 namespace hosts at 10 Gbit/s: about 1 ns of CPU per
        // byte sent against 0.8 ns on the wire. The averaging takes the CPU's time plus latency, not CPU + wire.
        var a = ClusterAssumptions()
        a.interNodeBandwidth = 1.25e9
        a.interNodeLatency = 1e-4
        a.communicationCPUPerByte = 1e-9
        a.overlapsGradientCommunication = false
        let bench = try config("clip-bench")
        let p = Double(ModelSize(config: bench).parameterCount)
        let e = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        let buckets = (4 * p / a.bucketBytes).rounded(.up)
        XCTAssertEqual(e.gradientAllReduce, 4 * p * 1e-9 + buckets * 2 * 1e-4, accuracy: 1e-9)
        XCTAssertLessThan(e.gradientAllReduce, 4 * p * (1e-9 + 1 / 1.25e9))
    }

    func testHiddenCommunicationStillCostsItsCPU() throws {
        var a = ClusterAssumptions()
        a.interNodeBandwidth = 1e9
        a.interNodeLatency = 0
        a.intraNodeLatency = 0
        a.flopsPerRank = 2e9  // slow enough that backward covers all but the last bucket
        let bench = try config("clip-bench")
        let p = Double(ModelSize(config: bench).parameterCount)
        let free = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        a.communicationCPUPerByte = 2e-9
        let costly = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(free.gradientAllReduceHiddenCPU, 0)
        XCTAssertEqual(free.gradientAllReduce, 4 * p / 1e9, accuracy: 1e-9)
        XCTAssertEqual(costly.gradientAllReduce, 4 * p * 2e-9, accuracy: 1e-9)
        // The hidden part's CPU work (its share of 2 · 4p ns) still takes time from backward.
        XCTAssertGreaterThan(costly.gradientAllReduceHidden, 0)
        XCTAssertEqual(costly.gradientAllReduceHiddenCPU, 4 * p * 2e-9 * costly.gradientAllReduceHidden / costly.gradientAllReduce, accuracy: 1e-12)
        XCTAssertEqual(costly.stepTime, costly.compute + costly.gradientAllReduceHiddenCPU + costly.exposedCommunication, accuracy: 1e-12)
        a.overlapsGradientCommunication = false
        let serial = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(serial.gradientAllReduceHiddenCPU, 0)
        XCTAssertEqual(serial.gradientAllReduceExposed, costly.gradientAllReduce, accuracy: 1e-12)
    }

    private func config(_ name: String) throws -> CLIPConfig {
        try CLIPConfig.load(FixturePaths.repository + "/cluster-configs/models/\(name).json")
    }

    func testParameterCountsMatchOpenCLIP() throws {
        // OpenCLIP's own counts: ViT-B-32 has 151,277,313 parameters; the clip-tiny fixture records 286,977.
        XCTAssertEqual(ModelSize(config: try config("ViT-B-32")).parameterCount, 151_277_313)
        let tiny = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        XCTAssertEqual(ModelSize(config: tiny).parameterCount, 286_977)
        XCTAssertEqual(ModelSize(config: tiny).parameterCount, CLIPModel(config: tiny).parameters.count)
    }

    func testBF16WireHalvesTheGradientAllReduceAndNoOverlapExposesAllOfIt() throws {
        var a = ClusterAssumptions()
        a.interNodeBandwidth = 0.125e9
        a.interNodeLatency = 0
        a.intraNodeLatency = 0
        let bench = try config("clip-bench")
        let fp32 = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        a.gradientWireBytes = 2
        let bf16 = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(bf16.gradientAllReduce, fp32.gradientAllReduce / 2, accuracy: 1e-12)
        // 2 ranks: each sends and receives the whole float32 gradient once (2 · 1/2 · 4p bytes) at 0.125 GB/s.
        XCTAssertEqual(fp32.gradientAllReduce, 4 * Double(ModelSize(config: bench).parameterCount) / 0.125e9, accuracy: 1e-9)
        a.overlapsGradientCommunication = false
        let serial = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(serial.gradientAllReduceHidden, 0)
        XCTAssertEqual(serial.gradientAllReduceExposed, bf16.gradientAllReduce, accuracy: 1e-12)
        XCTAssertGreaterThan(bf16.gradientAllReduceHidden, 0)
    }

    func testEstimateByHandForTwoNodes() throws {
        let vit = try config("ViT-B-32")
        var a = ClusterAssumptions()
        a.interNodeBandwidth = 10e9
        a.interNodeLatency = 1e-5
        a.flopsPerRank = 1e12
        let model = ScalingModel(config: vit, globalBatch: 1024, assumptions: a)
        let e = try XCTUnwrap(model.estimate(nodes: 2))
        XCTAssertEqual(e.localBatch, 512)
        let featureBytes = 2.0 * 1024 * 512 * 4
        XCTAssertEqual(e.featureAllGather, 1e-5 + 0.5 * featureBytes / 10e9, accuracy: 1e-12)
        XCTAssertEqual(e.towerCompute, 512 * 6 * vit.forwardMACsPerSample / 1e12, accuracy: 1e-9)
        XCTAssertEqual(e.lossCompute, 12.0 * 512 * 1024 * 512 / 1e12, accuracy: 1e-12)
        XCTAssertEqual(e.stateBytes, 16 * 151_277_313)
        // Everything but the last bucket hides behind 2/3 of the tower compute when that is long enough.
        let buckets = CollectiveCost.bucketedAllReduce(bytes: 4 * 151_277_313, bucketBytes: a.bucketBytes, ranks: 2, bandwidth: 10e9, latency: 1e-5)
        XCTAssertEqual(e.gradientAllReduceHidden, min(buckets.total - buckets.lastBucket, 2.0 / 3 * e.towerCompute), accuracy: 1e-12)
        XCTAssertEqual(e.stepTime, e.compute + e.featureAllGather + e.featureGradientReduceScatter + e.gradientAllReduceExposed, accuracy: 1e-12)
        XCTAssertNil(model.estimate(nodes: 3))  // 1024 does not split over 3 ranks
    }

    func testScalingIsMonotonicAndCommunicationTakesOver() throws {
        var a = ClusterAssumptions()
        a.ranksPerNode = 2
        a.flopsPerRank = 100e12  // accelerator-class ranks, so that communication can catch up
        let model = ScalingModel(config: try config("ViT-B-32"), globalBatch: 32768, assumptions: a)
        let counts = ScalingModel.powersOfTwo(upTo: 1024)
        XCTAssertEqual(counts, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        let estimates = counts.compactMap { model.estimate(nodes: $0) }
        XCTAssertEqual(estimates.count, 11)
        for (before, after) in zip(estimates, estimates.dropFirst()) {
            XCTAssertLessThan(after.compute, before.compute)
            XCTAssertLessThan(after.activationBytes, before.activationBytes)
            XCTAssertEqual(after.stateBytes, before.stateBytes)
            XCTAssertGreaterThanOrEqual(after.featureAllGather, before.featureAllGather)
            XCTAssertGreaterThan(after.samplesPerSecond / Double(after.ranks), 0)
            // Throughput per rank never improves with more ranks.
            XCTAssertLessThanOrEqual(after.samplesPerSecond / Double(after.ranks), before.samplesPerSecond / Double(before.ranks) * (1 + 1e-9))
        }
        let crossover = try XCTUnwrap(model.communicationCrossover(nodeCounts: counts))
        XCTAssertGreaterThan(crossover, 1)
        for e in estimates { XCTAssertEqual(e.communicationDominates, e.nodes >= crossover, "\(e.nodes) nodes") }
        // Loss memory is the gathered features, their gradients and O(local batch × tile) logits: far below the
        // 4.3 GB of the N × N logits; the logit part is at most two tiles of 4M entries.
        let featureBytes = 2.0 * 32768 * 512 * 4
        for e in estimates {
            XCTAssertLessThanOrEqual(e.lossBytes - 2 * featureBytes, 2 * Double(ContrastiveLoss.defaultTileElements) * 4)
            XCTAssertGreaterThan(e.lossBytes - 2 * featureBytes, 0)
        }
    }

    func testGradientCachingTradesComputeForActivations() throws {
        let vit = try config("ViT-B-32")
        let plain = ScalingModel(config: vit, globalBatch: 4096, assumptions: ClusterAssumptions())
        let cached = ScalingModel(config: vit, globalBatch: 4096, assumptions: ClusterAssumptions(), accumulationSteps: 4)
        let p = try XCTUnwrap(plain.estimate(nodes: 8)), c = try XCTUnwrap(cached.estimate(nodes: 8))
        XCTAssertEqual(c.activationBytes, p.activationBytes / 4, accuracy: 1)   // 512 → 128 samples held
        XCTAssertEqual(c.towerCompute / p.towerCompute, 8.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(c.featureAllGather, p.featureAllGather)
        // A measured rate means the same FLOP/s either way.
        XCTAssertEqual(cached.flopsPerRank(measuredSamplesPerSecond: 10), plain.flopsPerRank(measuredSamplesPerSecond: 10))
    }

    func testReportNamesCrossoverAndSkipsUnevenSplits() throws {
        let model = ScalingModel(config: try config("clip-tiny"), globalBatch: 96, assumptions: ClusterAssumptions())
        let text = PlanReport.render(model, modelName: "clip-tiny", nodeCounts: [1, 2, 64])
        XCTAssertTrue(text.contains("does not split over 64 ranks"), text)
        XCTAssertTrue(text.contains("0.29M parameters"), text)
        XCTAssertTrue(text.contains("communication"), text)
    }
}
