import Foundation
import TensorCore

/// `kernels`: nanoseconds per element of the element-wise kernels on in-cache data (compute cost, not bandwidth).
enum KernelProbe {
    static func run(json: Bool) {
        var g = SplitMix64(seed: 3)
        let n = Int(ProcessInfo.processInfo.environment["SWIFTCLIP_BENCH_ELEMENTS"] ?? "") ?? 1 << 14
        let a = Tensor.randomNormal([n / 256, 256], using: &g), b = Tensor.randomNormal([n / 256, 256], using: &g)
        let w = Tensor.ones([256]), bias = Tensor.zeros([256])
        let cases: [(String, () -> Void)] = [
            ("copy", { consume(a.copy()) }),
            ("add", { consume(a + b) }),
            ("add bias row", { consume(a + bias) }),
            ("scale", { consume(a * 0.5) }),
            ("exp", { consume(a.exp()) }),
            ("gelu", { consume(a.gelu()) }),
            ("tanh", { consume(a.tanh()) }),
            ("softmax", { consume(a.softmax()) }),
            ("logSoftmax", { consume(a.logSoftmax()) }),
            ("layerNorm", { consume(a.layerNorm(weight: w, bias: bias)) }),
            ("sum axis 0", { consume(a.sum(axis: 0)) }),
        ]
        for (name, body) in cases {
            var times: [Double] = []
            for _ in 0..<15 { times.append(Timing.seconds { for _ in 0..<20 { body() } }) }
            print(pad(name, 16) + fmt(times.median / 20 / Double(n) * 1e9, 3) + " ns/element")
        }
    }
}
