import COpenBLAS
import Foundation
import TensorCore

/// `matmul`: our Linear forward+backward against raw sgemm, and the element-wise kernels against memcpy.
///
/// Linear: y = x Wᵀ + b forward, then dx = dy W, dW = dyᵀ x, db = Σ dy through the tape; raw sgemm does
/// the same three products into preallocated buffers. FLOPs: 2·B·in·out forward, 4·B·in·out backward.
/// Element-wise: each pass's bytes read + written per second, against memcpy of the same bytes.
enum MatmulBenchmark {
    static func run(json: Bool) {
        print("BLAS threads: \(BLAS.threads) (set OPENBLAS_NUM_THREADS to change)")
        var ratios: [String: Double] = [:]
        print("\nLinear forward+backward vs raw cblas_sgemm (median of interleaved repetitions)")
        print(pad("batch×in×out", 20) + pad("sgemm GFLOP/s", 16) + pad("ours GFLOP/s", 16) + "ratio")
        var matmulMin = Double.infinity
        let skipMatmul = ProcessInfo.processInfo.environment["SWIFTCLIP_BENCH_SKIP_MATMUL"] != nil
        for (batch, inF, outF, reps) in skipMatmul ? [] : [(4096, 512, 512, 11), (4096, 1024, 1024, 9)] {
            let (raw, ours) = linearVersusSgemm(batch: batch, inFeatures: inF, outFeatures: outF, repetitions: reps)
            let flops = 6.0 * Double(batch * inF * outF)
            let ratio = raw / ours
            matmulMin = min(matmulMin, ratio)
            ratios["linear_\(batch)x\(inF)x\(outF)"] = ratio
            print(pad("\(batch)×\(inF)×\(outF)", 20) + pad(fmt(flops / raw / 1e9), 16) + pad(fmt(flops / ours / 1e9), 16) + fmt(ratio, 3))
        }

        print("\nAttention forward+backward (clip-bench shapes, 4 heads of 64) vs raw sgemm on 4096×256×1024")
        print(pad("batch×tokens×width", 20) + pad("sgemm GFLOP/s", 16) + pad("ours GFLOP/s", 16) + "ratio")
        for (batch, tokens, causal) in skipMatmul ? [] : [(128, 65, false), (128, 32, true)] {
            let (raw, ours, flops) = attentionVersusSgemm(batch: batch, tokens: tokens, width: 256, heads: 4, causal: causal)
            let ratio = flops / ours / (4096 * 256 * 1024 * 2 / raw)
            ratios["attention_\(batch)x\(tokens)x256"] = ratio
            print(pad("\(batch)×\(tokens)×256" + (causal ? " causal" : ""), 20) + pad(fmt(4096 * 256 * 1024 * 2 / raw / 1e9), 16)
                  + pad(fmt(flops / ours / 1e9), 16) + fmt(ratio, 3))
        }

        print("\nElement-wise passes vs memcpy of the same bytes (GB/s = bytes read + written per second)")
        print(pad("pass", 28) + pad("memcpy GB/s", 14) + pad("ours GB/s", 12) + "ratio")
        var elementwiseMin = Double.infinity
        for pass in ElementwisePasses.all() {
            let (copyGBs, oursGBs) = ElementwisePasses.measure(pass)
            let ratio = oursGBs / copyGBs
            elementwiseMin = min(elementwiseMin, ratio)
            ratios["elementwise_" + pass.name.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()] = ratio
            print(pad(pass.name, 28) + pad(fmt(copyGBs), 14) + pad(fmt(oursGBs), 12) + fmt(ratio, 3))
        }
        print("\nmatmul_vs_sgemm_min = \(fmt(matmulMin, 3)) (target ≥ 0.90); elementwise_vs_memcpy_min = \(fmt(elementwiseMin, 3)) (target ≥ 0.5)")
        if json {
            var fields = ["\"matmul_vs_sgemm_min\": \(fmt(matmulMin, 4))", "\"elementwise_vs_memcpy_min\": \(fmt(elementwiseMin, 4))",
                          "\"blas_threads\": \(BLAS.threads)"]
            fields += ratios.keys.sorted().map { "\"\($0)\": \(fmt(ratios[$0]!, 4))" }
            print("{" + fields.joined(separator: ", ") + "}")
        }
    }

    /// Median seconds of (raw sgemm, our Linear) for one forward+backward.
    static func linearVersusSgemm(batch: Int, inFeatures: Int, outFeatures: Int, repetitions: Int) -> (Double, Double) {
        var generator = SplitMix64(seed: 1)
        let x = Tensor.randomNormal([batch, inFeatures], using: &generator)
        let w = Tensor.randomNormal([outFeatures, inFeatures], std: 0.05, using: &generator)
        let b = Tensor.randomNormal([outFeatures], using: &generator)
        let dy = Tensor.randomNormal([batch, outFeatures], using: &generator)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: batch * outFeatures)
        let dx = UnsafeMutablePointer<Float>.allocate(capacity: batch * inFeatures)
        let dw = UnsafeMutablePointer<Float>.allocate(capacity: outFeatures * inFeatures)
        defer { y.deallocate(); dx.deallocate(); dw.deallocate() }
        let (m, k, n) = (Int32(batch), Int32(inFeatures), Int32(outFeatures))
        let raw = {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x.pointer, k, w.pointer, k, 0, y, n)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1, dy.pointer, n, w.pointer, k, 0, dx, k)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1, dy.pointer, n, x.pointer, k, 0, dw, k)
        }
        let ours = {
            Tape.shared.reset()
            let tx = x.tracked(), tw = w.tracked(), tb = b.tracked()
            let out = Tensor.linear(tx, weight: tw, bias: tb)
            let grads = Tape.shared.backward(from: out, seed: dy)
            precondition(grads[tx] != nil && grads[tw] != nil && grads[tb] != nil, "matmul benchmark: missing gradient")
            consume(grads)
        }
        return Timing.interleaved(repetitions: repetitions, reference: raw, candidate: ours)
    }
}

extension MatmulBenchmark {
    /// Median seconds of (one raw 4096×256×1024 sgemm, our attention forward+backward) and the attention's FLOPs
    /// (q·kᵀ and p·v forward, four products of the same sizes backward; the causal mask is not discounted, and the
    /// q·kᵀ backward recomputes instead of keeping the probabilities is not counted).
    static func attentionVersusSgemm(batch: Int, tokens: Int, width: Int, heads: Int, causal: Bool) -> (Double, Double, Double) {
        var generator = SplitMix64(seed: 4)
        let qkv = Tensor.randomNormal([batch, tokens, 3 * width], using: &generator)
        let dy = Tensor.randomNormal([batch, tokens, width], using: &generator)
        let a = Tensor.randomNormal([4096, 256], using: &generator), b = Tensor.randomNormal([1024, 256], using: &generator)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: 4096 * 1024)
        defer { c.deallocate() }
        let raw = { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 4096, 1024, 256, 1, a.pointer, 256, b.pointer, 256, 0, c, 1024) }
        let ours = {
            Tape.shared.reset()
            let t = qkv.tracked()
            consume(Tape.shared.backward(from: Tensor.attention(packedQKV: t, heads: heads, causal: causal), seed: dy))
        }
        let (rawSeconds, oursSeconds) = Timing.interleaved(repetitions: 5, reference: raw, candidate: ours)
        return (rawSeconds, oursSeconds, 6 * 2 * Double(batch * tokens * tokens * width))
    }
}

func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
