import Foundation
@testable import CLIP
import Distributed
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

    func testGradientsAreBucketedAsTheTrainerBucketsThemAndPayLatencyPerBucket() throws {
        // Plan's parameter list is the model's, parameter by parameter, so its buckets are GradientBucketPlan's.
        for name in ["clip-tiny", "clip-bench"] {
            let c = name == "clip-tiny" ? try CLIPConfig.load(FixturePaths.clipTiny + "/config.json") : try config(name)
            XCTAssertEqual(ModelSize(config: c).gradientSources.map(\.elements), CLIPModel(config: c).parameters.parameters.map(\.count), name)
        }
        var a = ClusterAssumptions()
        a.interNodeBandwidth = 1e15
        a.intraNodeBandwidth = 1e15
        a.interNodeLatency = 1e-4
        a.overlapsGradientCommunication = false
        let bench = try config("clip-bench")
        let counts = ModelSize(config: bench).gradientSources.map(\.elements)
        let buckets = try GradientBucketPlan(layout: GradientBucketPlan.packedLayout(parameterCounts: counts).layout, bucketBytes: 8 << 20).buckets
        let e = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 4))
        // clip-bench's 22.3 M parameters make 6 buckets, not 11 of 8 MiB: the 50.6 MB token embedding is one.
        XCTAssertEqual(e.gradientBuckets, buckets.count)
        XCTAssertEqual(e.gradientBuckets, 6)
        XCTAssertEqual(e.gradientAllReduce, 6 * 2 * 3 * 1e-4, accuracy: 1e-6)
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
        let buckets = Double(e.gradientBuckets)
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

    /// Seconds of the buckets whose gradients are only complete after backward (the one holding `logit_scale`, whose
    /// gradient the loss adds after backward, and those of the image tower's first block and stem), sent one by one.
    private func afterBackward(_ c: CLIPConfig, _ a: ClusterAssumptions, ranks: Int, bandwidth: Double, latency: Double,
                               cpuPerByte: Double = 0) throws -> Double {
        let sources = ModelSize(config: c).gradientSources
        let plan = try GradientBucketPlan(layout: GradientBucketPlan.packedLayout(parameterCounts: sources.map(\.elements)).layout,
                                          bucketBytes: Int(a.bucketBytes))
        return plan.buckets.filter { $0.parameters.contains { sources[$0].readyAfter >= 1 } }.reduce(0) {
            $0 + CollectiveCost.ringAllReduce(bytes: Double($1.elementCount) * a.gradientWireBytes, ranks: ranks, bandwidth: bandwidth,
                                              latency: latency, cpuPerByte: cpuPerByte)
        }
    }

    func testBucketsCompletedAfterBackwardAreExposedWhateverBackwardsLength() throws {
        // clip-bench over 2 ranks at 1 Gbit/s with a backward far longer than the averaging. The old rule exposed only
        // the last 8 MiB bucket's remainder (5.2 MiB); the trainer's buckets are sent when complete, and two are only
        // complete after backward: logit_scale's (with text_projection and the text tower's last blocks, 8.7 MB) and
        // the image stem's (with the first block's attention and c_fc, 2.4 MB).
        var a = latencyFree(bandwidth: 0.125e9)
        a.flopsPerRank = 1e8
        let bench = try config("clip-bench")
        let e = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 64, assumptions: a).estimate(nodes: 2))
        let tail = try afterBackward(bench, a, ranks: 2, bandwidth: 0.125e9, latency: 0)
        XCTAssertEqual(tail, (2_171_137 + 593_920) * 4 / 0.125e9, accuracy: 1e-9)
        XCTAssertEqual(e.gradientAllReduceExposed, tail, accuracy: 1e-9)
        let remainder = 4 * Double(ModelSize(config: bench).parameterCount).truncatingRemainder(dividingBy: Double(2 << 20)) / 0.125e9
        XCTAssertGreaterThan(e.gradientAllReduceExposed, 1.5 * remainder)
    }

    func testPollingMPIThreadSlowsBackwardForAsLongAsBucketsAreInFlight() throws {
        // 2 ranks at 1 Gbit/s, one BLAS thread per rank: the MPI thread polls while a bucket is on the wire, so
        // backward runs at half speed from the moment the first buckets are complete (the text tower's embedding and
        // first blocks, once the text tower's backward is done) until its end: it loses (1 − s) × B, s the text tower's
        // share. The old rule charged only the CPU work of the hidden bytes (1 ns each: about 0.04 s).
        var a = latencyFree(bandwidth: 0.125e9)
        a.communicationCPUPerByte = 1e-9
        a.computeThreadsPerRank = 1
        let bench = try config("clip-bench")
        let model = ScalingModel(config: bench, globalBatch: 32, assumptions: a)
        a.flopsPerRank = model.flopsPerRank(measuredSamplesPerSecond: 16 / 0.45)  // 0.45 s per step of 16 samples
        let e = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        let backward = 2.0 / 3 * e.towerCompute
        let macs = bench.forwardMACsPerTower(), s = macs.text / (macs.text + macs.image)
        XCTAssertGreaterThan(e.gradientAllReduce, 0.7)  // on the wire for all of backward after s
        // (The bucket holding the text tower's first blocks can leave up to one text block's share s B / 6 earlier.)
        let earlier = s * backward / 6
        XCTAssertEqual(e.gradientAllReduceHiddenCPU, (1 - s) * backward + earlier / 2, accuracy: earlier / 2)
        // Bucket transfers are wire-bound (2 ns of CPU at half speed against 8 ns on the wire), so they move at full
        // pace beside backward: what is hidden is twice what backward loses.
        XCTAssertEqual(e.gradientAllReduceExposed, e.gradientAllReduce - 2 * e.gradientAllReduceHiddenCPU, accuracy: 1e-9)
        XCTAssertEqual(e.stepTime, e.compute + e.gradientAllReduceHiddenCPU + e.exposedCommunication, accuracy: 1e-9)
        a.computeThreadsPerRank = 0
        let unpolled = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        XCTAssertLessThan(unpolled.gradientAllReduceHiddenCPU, 0.5 * e.gradientAllReduceHiddenCPU)
    }

    func testShortCaptionsFinishTheTextTowersGradientsSooner() throws {
        // The text tower runs only as far as its captions reach, so its backward is a smaller share of the whole: the
        // token embedding's gradient (its own bucket) is final sooner and can go on the wire while the image tower's
        // backward still runs.
        let bench = try config("clip-bench")
        let captions = [Int](repeating: 17, count: 16)
        func tokenEmbeddingReady(_ size: ModelSize) throws -> Double {
            try XCTUnwrap(size.gradientSources.first { $0.elements == bench.text.vocabSize * bench.text.width }).readyAfter
        }
        let short = bench.forwardMACsPerTower(captionLengths: captions), full = bench.forwardMACsPerTower()
        XCTAssertEqual(short.image, full.image)
        XCTAssertLessThan(short.text, 0.7 * full.text)
        XCTAssertEqual(try tokenEmbeddingReady(ModelSize(config: bench, captionLengths: captions)), short.text / (short.text + short.image),
                       accuracy: 1e-12)
        XCTAssertEqual(try tokenEmbeddingReady(ModelSize(config: bench)), full.text / (full.text + full.image), accuracy: 1e-12)
        XCTAssertEqual(ModelSize(config: bench, captionLengths: captions).gradientSources.map(\.elements),
                       ModelSize(config: bench).gradientSources.map(\.elements))

        // bf16 at 1 Gbit/s, overlapped, 2 ranks of a 0.45 s step: more of the averaging hides behind the longer image backward.
        var a = latencyFree(bandwidth: 0.065e9)
        a.gradientWireBytes = 2
        a.computeThreadsPerRank = 1
        a.flopsPerRank = ScalingModel(config: bench, globalBatch: 32, assumptions: a).flopsPerRank(measuredSamplesPerSecond: 16 / 0.45)
        let fullContext = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        let shortCaptions = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a, captionTokens: 17).estimate(nodes: 2))
        XCTAssertEqual(shortCaptions.towerCompute, fullContext.towerCompute)
        XCTAssertEqual(shortCaptions.gradientAllReduce, fullContext.gradientAllReduce)
        XCTAssertLessThan(shortCaptions.gradientAllReduceExposed, fullContext.gradientAllReduceExposed - 0.02)
    }

    func testBF16AveragingHasItsOwnBandwidthAndCPUCost() throws {
        // bf16 buckets are an all-to-all and an all-gather, which reach another bandwidth than the all-reduce (the
        // probe's --wire bf16); the feature collectives stay float32 and keep --bandwidth.
        var a = latencyFree(bandwidth: 0.06e9)
        a.gradientWireBytes = 2
        a.overlapsGradientCommunication = false
        let bench = try config("clip-bench")
        let p = Double(ModelSize(config: bench).parameterCount)
        let shared = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        a.bf16InterNodeBandwidth = 0.1e9
        let own = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(shared.gradientAllReduce, 2 * p / 0.06e9, accuracy: 1e-9)
        XCTAssertEqual(own.gradientAllReduce, 2 * p / 0.1e9, accuracy: 1e-9)
        XCTAssertEqual(own.featureAllGather, shared.featureAllGather)
        a.bf16CommunicationCPUPerByte = 20e-9  // slower than the wire: the CPU sets the pace
        a.communicationCPUPerByte = 1e-9
        let cpu = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(cpu.gradientAllReduce, 2 * p * 20e-9, accuracy: 1e-9)
        a.gradientWireBytes = 4  // fp32 ignores the bf16 figures
        let fp32 = try XCTUnwrap(ScalingModel(config: bench, globalBatch: 32, assumptions: a).estimate(nodes: 2))
        XCTAssertEqual(fp32.gradientAllReduce, 4 * p / 0.06e9, accuracy: 1e-9)
    }

    /// Assumptions with only a network bandwidth, no latency, so times can be worked out from bytes alone.
    private func latencyFree(bandwidth: Double) -> ClusterAssumptions {
        var a = ClusterAssumptions()
        a.interNodeBandwidth = bandwidth
        a.interNodeLatency = 0
        a.intraNodeLatency = 0
        return a
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
        var a = latencyFree(bandwidth: 0.125e9)
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
        // Backward (9 s) is far longer than the averaging: all of it hides but the buckets only complete after backward.
        XCTAssertEqual(e.gradientAllReduceExposed, try afterBackward(vit, a, ranks: 2, bandwidth: 10e9, latency: 1e-5), accuracy: 1e-12)
        XCTAssertEqual(e.gradientAllReduceHidden + e.gradientAllReduceExposed, e.gradientAllReduce, accuracy: 1e-12)
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
