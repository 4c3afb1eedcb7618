import CLIP
import Foundation
import NN
import Optim
import TensorCore

/// Times single-process training steps (forward, CLIP loss, backward, AdamW, clamp) on random data,
/// with a per-phase breakdown, so speed work can see where a step goes.
public struct StepTimer {
    public struct Phases: Sendable {
        public var forward = 0.0, loss = 0.0, backward = 0.0, optimizer = 0.0
        public var total: Double { forward + loss + backward + optimizer }
    }

    public let config: CLIPConfig
    public let batch: Int

    public init(config: CLIPConfig, batch: Int) {
        self.config = config
        self.batch = batch
    }

    /// Runs `warmup` untimed and `steps` timed steps; returns the phases of each timed step.
    public func run(steps: Int, warmup: Int = 1, seed: UInt64 = 0) -> [Phases] {
        let model = CLIPModel(config: config, seed: seed)
        let store = model.parameters
        var generator = SeededGenerator(seed: seed &+ 1)
        let v = config.vision, t = config.text
        let images = Tensor.randomNormal([batch, 3, v.imageSize, v.imageSize], using: &generator)
        var tokens = [Int32](repeating: 0, count: batch * t.contextLength)
        for b in 0..<batch {
            let length = 2 + Int(generator.next() % UInt64(t.contextLength - 1))
            for i in 0..<(length - 1) { tokens[b * t.contextLength + i] = Int32(1 + generator.next() % UInt64(t.vocabSize - 2)) }
            tokens[b * t.contextLength + length - 1] = Int32(t.vocabSize - 1)
        }
        let optimizer = AdamW(segments: store.parameters.map {
            AdamW.Segment(name: $0.name, offset: $0.offset, count: $0.count, decay: AdamW.decays(name: $0.name, shape: $0.shape))
        })
        var gradients = [Float](repeating: 0, count: store.count)
        var timings: [Phases] = []
        for step in 0..<(warmup + steps) {
            var phases = Phases()
            var clock = DispatchTime.now().uptimeNanoseconds
            func lap() -> Double {
                let now = DispatchTime.now().uptimeNanoseconds
                defer { clock = now }
                return Double(now - clock) / 1e9
            }
            store.track()
            let image = model.encodeImage(images), text = model.encodeText(tokens)
            phases.forward = lap()
            let loss = ContrastiveLoss.clip(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                            logitScale: model.logitScale.tensor, rank: 0)
            phases.loss = lap()
            let leaves = Dictionary(uniqueKeysWithValues: store.parameters.map { ($0.leaf!.variable, $0) })
            _ = Tape.shared.backward(from: loss) { variable, g in
                let p = leaves[variable]!
                g.withUnsafeBufferPointer { src in
                    gradients.withUnsafeMutableBufferPointer { dst in (dst.baseAddress! + p.offset).update(from: src.baseAddress!, count: p.count) }
                }
            }
            store.untrack()
            phases.backward = lap()
            optimizer.step(parameters: store.values.pointer, gradients: gradients, lr: 5e-4)
            model.clampLogitScale()
            phases.optimizer = lap()
            if step >= warmup { timings.append(phases) }
        }
        return timings
    }

    /// Forward multiply-adds per sample, the basis of GFLOP/s figures (a training step is 3 × 2 × this).
    public var forwardMACsPerSample: Double {
        let v = config.vision, t = config.text, e = Double(config.embedDim)
        func tower(tokens: Double, width: Double, layers: Int, mlp: Double) -> Double {
            let perToken = 4 * width * width + 2 * width * mlp  // qkv + out projections, MLP
            let attention = 2 * tokens * width               // q·k and p·v per token
            return Double(layers) * tokens * (perToken + attention)
        }
        let patches = Double(v.tokens - 1)
        let vision = tower(tokens: Double(v.tokens), width: Double(v.width), layers: v.layers, mlp: Double(v.mlpWidth))
            + patches * Double(3 * v.patchSize * v.patchSize * v.width) + Double(v.width) * e
        let text = tower(tokens: Double(t.contextLength), width: Double(t.width), layers: t.layers, mlp: Double(t.mlpWidth))
            + Double(t.width) * e
        return vision + text
    }
}
