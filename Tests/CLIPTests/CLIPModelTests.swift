import CLIP
import NN
import TensorCore
import XCTest

final class CLIPModelTests: XCTestCase {
    func testParameterKeysAndCountMatchOpenCLIP() throws {
        let config = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        let model = CLIPModel(config: config)
        XCTAssertEqual(model.parameters.count, 286_977)  // fixture config.json: num_parameters
        let weights = try Safetensors.read(FixturePaths.clipTiny + "/weights.safetensors").tensors
        XCTAssertEqual(Set(model.parameters.parameters.map(\.name)), Set(weights.keys))
        XCTAssertEqual(model.parameters["visual.transformer.resblocks.0.attn.in_proj_weight"]?.shape, [192, 64])
        XCTAssertEqual(model.logitScale.value.scalar, Float(log(1 / 0.07)), accuracy: 1e-6)
    }

    /// The encoders register in OpenCLIP's forward order, the image tower under `visual.` and the text tower at the root:
    /// the flat parameter layout (checkpoints, optimizer state, gradient buckets) depends on it.
    func testParametersAreRegisteredInForwardOrder() throws {
        let config = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        let block = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
                     "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]
        func blocks(_ prefix: String) -> [String] {
            (0..<2).flatMap { layer in block.map { "\(prefix)transformer.resblocks.\(layer).\($0)" } }
        }
        let expected = ["visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
                        "visual.ln_pre.bias"] + blocks("visual.") + ["visual.ln_post.weight", "visual.ln_post.bias", "visual.proj",
                        "token_embedding.weight", "positional_embedding"] + blocks("") + ["ln_final.weight", "ln_final.bias",
                        "text_projection", "logit_scale"]
        XCTAssertEqual(CLIPModel(config: config).parameters.parameters.map(\.name), expected)
    }

    func testStrictLoadingNamesTheKey() throws {
        let config = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        let model = CLIPModel(config: config)
        var tensors = try Safetensors.read(FixturePaths.clipTiny + "/weights.safetensors").tensors
        let proj = tensors.removeValue(forKey: "visual.proj")!
        XCTAssertThrowsError(try model.parameters.load(tensors, from: "w.safetensors")) {
            XCTAssertEqual("\($0)", "w.safetensors: missing parameter visual.proj (shape [64, 64])")
        }
        tensors["visual.proj"] = proj
        tensors["visual.extra"] = proj
        XCTAssertThrowsError(try model.parameters.load(tensors, from: "w.safetensors")) {
            XCTAssertEqual("\($0)", "w.safetensors: unused key visual.extra not in the model")
        }
        tensors.removeValue(forKey: "visual.extra")
        tensors["visual.proj"] = StoredTensor(shape: [32, 128], dtype: "F32", floats: proj.floats, integers: [])
        XCTAssertThrowsError(try model.parameters.load(tensors, from: "w.safetensors")) {
            XCTAssertEqual("\($0)", "w.safetensors: parameter visual.proj has shape [32, 128], the model expects [64, 64]")
        }
    }

    func testExportRoundTripsBitExactly() throws {
        let config = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        let model = CLIPModel(config: config, seed: 7)
        let path = NSTemporaryDirectory() + "/export-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.parameters.save(safetensors: path)
        let reloaded = CLIPModel(config: config, seed: 8)
        XCTAssertNotEqual(Array(reloaded.parameters.flatValues), Array(model.parameters.flatValues))
        try reloaded.parameters.load(safetensors: path)
        XCTAssertEqual(Array(reloaded.parameters.flatValues), Array(model.parameters.flatValues))
    }

    func testHalfPrecisionWeightsConvertOnLoad() throws {
        // F16 and BF16 files written by hand: 1.5 and -2.0 are exact in both.
        let dir = NSTemporaryDirectory()
        for (dtype, bytes) in [("F16", [UInt8]([0x00, 0x3E, 0x00, 0xC0])), ("BF16", [0xC0, 0x3F, 0x00, 0xC0])] {
            let header = #"{"x":{"dtype":"\#(dtype)","shape":[2],"data_offsets":[0,4]}}"#
            var data = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: Array(header.utf8))
            data.append(contentsOf: bytes)
            let path = dir + "/half-\(dtype).safetensors"
            FileManager.default.createFile(atPath: path, contents: data)
            XCTAssertEqual(try Safetensors.read(path).tensors["x"]?.floats, [1.5, -2.0], dtype)
        }
    }

    func testTruncatedWeightsFileIsAClearError() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.clipTiny + "/weights.safetensors"))
        let path = NSTemporaryDirectory() + "/truncated.safetensors"
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Safetensors.read(path)) { XCTAssertTrue("\($0)".contains("outside the file (truncated?)"), "\($0)") }
    }

    func testConfigsRejectUnknownAndUnsupportedKeys() throws {
        func decode(_ json: String) throws -> CLIPConfig { try JSONDecoder().decode(CLIPConfig.self, from: Data(json.utf8)) }
        let ok = try decode(#"{"embed_dim": 512, "vision_cfg": {"patch_size": 32}, "text_cfg": {}}"#)
        XCTAssertEqual(ok.vision.imageSize, 224)
        XCTAssertEqual(ok.vision.heads, 12)
        XCTAssertEqual(ok.text.contextLength, 77)
        XCTAssertThrowsError(try decode(#"{"embed_dim": 8, "vision_cfg": {"bogus": 1}, "text_cfg": {}}"#)) {
            XCTAssertEqual("\($0)", "unknown key vision_cfg.bogus (known: head_width, image_size, layers, mlp_ratio, patch_size, width)")
        }
        XCTAssertThrowsError(try decode(#"{"embed_dim": 8, "vision_cfg": {"ls_init_value": 0.1}, "text_cfg": {}}"#)) {
            XCTAssertEqual("\($0)", "vision_cfg.ls_init_value = 0.1 is not supported (only its OpenCLIP default)")
        }
        XCTAssertNoThrow(try decode(#"{"embed_dim": 8, "vision_cfg": {"ls_init_value": null, "patch_size": 16}, "text_cfg": {}}"#))
        XCTAssertThrowsError(try decode(#"{"embed_dim": 8, "vision_cfg": {"image_size": 30, "patch_size": 16}, "text_cfg": {}}"#))
    }

    func testShippedConfigsLoad() throws {
        for name in ["clip-tiny", "clip-bench", "ViT-B-32"] {
            let config = try CLIPConfig.load(FixturePaths.repository + "/cluster-configs/models/\(name).json")
            XCTAssertGreaterThan(config.embedDim, 0)
        }
        let bench = try CLIPConfig.load(FixturePaths.repository + "/cluster-configs/models/clip-bench.json")
        XCTAssertEqual(CLIPModel(config: bench).parameters.count, 22_332_417)  // peer/RESULTS.md
    }

    func testTiledLossEqualsUntiledAndFloat64() throws {
        var g = SplitMix64(seed: 3)
        let n = 96, d = 16
        let image = Tensor.randomNormal([n, d], using: &g).l2Normalized(), text = Tensor.randomNormal([n, d], using: &g).l2Normalized()
        let scale = Tensor(scalar: 2.0)
        // Rank 1 of 3 (local batch 32), tiles of 7 columns vs one tile.
        let local = (image.slice(axis: 0, 32..<64), text.slice(axis: 0, 32..<64))
        let tiled = ContrastiveLoss.clip(localImage: local.0, localText: local.1, gatheredImage: image, gatheredText: text,
                                         logitScale: scale, rank: 1, tileElements: 32 * 7).scalar
        let whole = ContrastiveLoss.clip(localImage: local.0, localText: local.1, gatheredImage: image, gatheredText: text,
                                         logitScale: scale, rank: 1).scalar
        // Float64 reference of the same local loss.
        let s = exp(2.0), I = image.values.map(Double.init), T = text.values.map(Double.init)
        var reference = 0.0
        for (rows, cols) in [(I, T), (T, I)] {
            for i in 32..<64 {
                let logits = (0..<n).map { j in s * (0..<d).reduce(0.0) { $0 + rows[i * d + $1] * cols[j * d + $1] } }
                let m = logits.max()!
                reference += (m + log(logits.reduce(0) { $0 + exp($1 - m) })) - logits[i]
            }
        }
        reference /= 2 * 32
        XCTAssertEqual(Double(tiled), reference, accuracy: 1e-5)
        XCTAssertEqual(tiled, whole, accuracy: 1e-5)
    }
}

/// The distributed loss against an independent float64 computation of the full global batch (4,096 rows).
final class GlobalBatchLossTests: XCTestCase {
    func testLocalLossesAverageToTheFloat64FullBatchLoss() {
        var g = SplitMix64(seed: 11)
        let n = 4096, d = 64, world = 2, b = n / world
        let image = Tensor.randomNormal([n, d], using: &g).l2Normalized(), text = Tensor.randomNormal([n, d], using: &g).l2Normalized()
        let logScale: Float = 2.659_26
        var mean: Double = 0
        for rank in 0..<world {
            let rows = (rank * b)..<((rank + 1) * b)
            mean += Double(ClipLossEvaluation(localImage: image.slice(axis: 0, rows), localText: text.slice(axis: 0, rows),
                                              gatheredImage: image, gatheredText: text, logitScale: logScale, rank: rank,
                                              tileElements: 1 << 20).loss) / Double(world)
        }
        // Float64: symmetric cross-entropy of the N × N logits, rows and columns.
        let s = exp(Double(logScale)), I = image.values.map(Double.init), T = text.values.map(Double.init)
        var logits = [Double](repeating: 0, count: n * n)
        I.withUnsafeBufferPointer { ip in T.withUnsafeBufferPointer { tp in
            for i in 0..<n { for j in 0..<n {
                var dot = 0.0
                for k in 0..<d { dot += ip[i * d + k] * tp[j * d + k] }
                logits[i * n + j] = s * dot
            } }
        } }
        var total = 0.0
        for i in 0..<n {
            var rowMax = -Double.infinity, colMax = -Double.infinity
            for j in 0..<n { rowMax = max(rowMax, logits[i * n + j]); colMax = max(colMax, logits[j * n + i]) }
            var rowSum = 0.0, colSum = 0.0
            for j in 0..<n { rowSum += exp(logits[i * n + j] - rowMax); colSum += exp(logits[j * n + i] - colMax) }
            total += (rowMax + log(rowSum) - logits[i * n + i]) + (colMax + log(colSum) - logits[i * n + i])
        }
        let reference = total / Double(2 * n)
        XCTAssertEqual(mean, reference, accuracy: 1e-5 * reference)
    }
}
