import Foundation
import Yams

/// Reads YAML recipes and applies settings by their long flag names, so a recipe key, a command-line
/// flag and a `TrainingConfiguration` field are the same thing (`batch-size: 64` ≡ `--batch-size 64`).
public enum Recipe {
    typealias Setter = (inout TrainingConfiguration, String) throws -> Void

    /// Every setting by flag name.
    static let setters: [String: Setter] = {
        func int(_ name: String, _ body: @escaping (inout TrainingConfiguration, Int) -> Void) -> (String, Setter) {
            (name, { c, v in guard let x = Int(v) else { throw bad(name, v, "an integer") }; body(&c, x) })
        }
        func double(_ name: String, _ body: @escaping (inout TrainingConfiguration, Double) -> Void) -> (String, Setter) {
            (name, { c, v in guard let x = Double(v), x.isFinite else { throw bad(name, v, "a number") }; body(&c, x) })
        }
        func bool(_ name: String, _ body: @escaping (inout TrainingConfiguration, Bool) -> Void) -> (String, Setter) {
            (name, { c, v in
                switch v.lowercased() {
                case "true", "yes", "on", "1": body(&c, true)
                case "false", "no", "off", "0": body(&c, false)
                default: throw bad(name, v, "true or false")
                }
            })
        }
        func string(_ name: String, _ body: @escaping (inout TrainingConfiguration, String) -> Void) -> (String, Setter) {
            (name, { c, v in body(&c, v) })
        }
        let entries: [(String, Setter)] = [
            string("model") { $0.model = $1 }, string("dataset-type") { $0.datasetType = $1 },
            string("train-data") { $0.trainData = $1 }, string("val-data") { $0.valData = $1 },
            int("train-num-samples") { $0.trainNumSamples = $1 }, int("val-num-samples") { $0.valNumSamples = $1 },
            string("csv-img-key") { $0.csvImgKey = $1 }, string("csv-caption-key") { $0.csvCaptionKey = $1 },
            string("csv-separator") { $0.csvSeparator = $1 == "\\t" ? "\t" : $1 }, string("tokenizer") { $0.tokenizer = $1 },
            string("merges") { $0.merges = $1 }, int("workers") { $0.workers = $1 }, string("zeroshot-data") { $0.zeroshotData = $1 },
            int("batch-size") { $0.batchSize = $1 }, int("epochs") { $0.epochs = $1 }, int("max-steps") { $0.maxSteps = $1 },
            double("lr") { $0.lr = $1 }, double("wd") { $0.wd = $1 }, double("beta1") { $0.beta1 = $1 },
            double("beta2") { $0.beta2 = $1 }, double("eps") { $0.eps = $1 }, int("warmup") { $0.warmup = $1 },
            string("lr-scheduler") { $0.lrScheduler = $1 }, int("accum-freq") { $0.accumFreq = $1 }, bool("grad-checkpointing") { $0.gradCheckpointing = $1 },
            int("grad-checkpointing-blocks") { $0.gradCheckpointingBlocks = $1 }, int("recompute-mlp-blocks") { $0.recomputeMLPBlocks = $1 },
            double("grad-clip-norm") { $0.gradClipNorm = $1 }, bool("lock-image") { $0.lockImage = $1 },
            bool("lock-text") { $0.lockText = $1 }, bool("siglip") { $0.siglip = $1 },
            int("seed") { $0.seed = UInt64(max($1, 0)) }, bool("deterministic") { $0.deterministic = $1 },
            int("max-non-finite-steps") { $0.maxNonFiniteSteps = $1 },
            bool("local-loss") { $0.localLoss = $1 }, bool("gather-with-grad") { $0.gatherWithGrad = $1 },
            double("bucket-mb") { $0.bucketMB = $1 }, int("replica-check-every") { $0.replicaCheckEvery = $1 },
            string("resume") { $0.resume = $1 }, int("save-frequency") { $0.saveFrequency = $1 },
            int("save-every-steps") { $0.saveEverySteps = $1 }, int("keep") { $0.keep = $1 }, int("checkpoint-compression-level") { $0.checkpointCompressionLevel = $1 },
            int("val-frequency") { $0.valFrequency = $1 }, int("zeroshot-frequency") { $0.zeroshotFrequency = $1 },
            int("eval-every-steps") { $0.evalEverySteps = $1 },
            string("logs") { $0.logs = $1 }, string("name") { $0.name = $1 },
            string("report-to") { $0.reportTo = $1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } },
            int("log-every-n-steps") { $0.logEveryNSteps = $1 },
        ]
        return Dictionary(uniqueKeysWithValues: entries)
    }()

    /// Every flag name a recipe may use (plus `stages`).
    public static var keys: [String] { setters.keys.sorted() + ["stages"] }

    static func bad(_ name: String, _ value: String, _ expected: String) -> TrainingError {
        TrainingError("--\(name): '\(value)' is not \(expected)")
    }

    /// Applies `value` to the setting called `key` (a long flag name without dashes).
    public static func apply(_ key: String, _ value: String, to configuration: inout TrainingConfiguration) throws {
        guard let setter = setters[key] else { throw TrainingError("unknown setting '\(key)'") }
        try setter(&configuration, value)
    }

    /// Applies a YAML recipe file: keys are flag names; `stages` is a list of stage mappings.
    public static func apply(file path: String, to configuration: inout TrainingConfiguration) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw TrainingError("\(path): cannot read recipe") }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch { throw TrainingError("\(path): not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))") }
        guard let mapping = node as? [String: Any] else {
            if node == nil { return }
            throw TrainingError("\(path): a recipe must be a mapping of flag names to values")
        }
        for key in mapping.keys.sorted() {
            let value = mapping[key]!
            if key == "stages" {
                configuration.stages = try stages(value, path)
                continue
            }
            guard setters[key] != nil else { throw TrainingError("\(path): unknown key '\(key)' (keys are the long flag names of `swiftclip train`)") }
            let text: String
            switch value {
            case let list as [Any]: text = list.map { "\($0)" }.joined(separator: ",")
            case is [String: Any]: throw TrainingError("\(path): key '\(key)' must be a single value")
            default: text = "\(value)"
            }
            do { try apply(key, text, to: &configuration) } catch let e as TrainingError { throw TrainingError("\(path): \(e.description)") }
        }
    }

    static func stages(_ value: Any, _ path: String) throws -> [Stage] {
        guard let list = value as? [[String: Any]] else { throw TrainingError("\(path): 'stages' must be a list of mappings") }
        let known: Set<String> = ["name", "train", "freeze", "lr", "warmup", "schedule", "steps", "samples", "plateau"]
        return try list.enumerated().map { index, entry in
            for key in entry.keys where !known.contains(key) {
                throw TrainingError("\(path): stage \(index + 1): unknown key '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            do {
                let json = try JSONSerialization.data(withJSONObject: entry)
                var stage = try JSONDecoder().decode(Stage.self, from: json)
                if stage.name.isEmpty { stage.name = "stage\(index + 1)" }
                return stage
            } catch {
                throw TrainingError("\(path): stage \(index + 1) is malformed (\(error))")
            }
        }
    }

    /// The configuration as a recipe that `--config` reads back: one `flag-name: value` line per setting,
    /// stages as a JSON flow sequence (valid YAML).
    public static func yaml(of configuration: TrainingConfiguration) throws -> String {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as? [String: Any] ?? [:]
        var lines: [String] = []
        for key in object.keys.sorted() {
            let flag = key.reduce(into: "") { out, ch in
                if ch.isUppercase { out += "-" + ch.lowercased() } else { out.append(ch) }
            }.replacingOccurrences(of: "-m-b", with: "-mb")
            let value = object[key]!
            if value is NSNull { continue }
            if key == "stages" {
                let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
                lines.append("stages: " + String(decoding: data, as: UTF8.self))
                continue
            }
            if let list = value as? [Any] {
                if list.isEmpty { continue }
                lines.append("\(flag): \(list.map { "\($0)" }.joined(separator: ","))")
                continue
            }
            let data = try JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed, .withoutEscapingSlashes])
            var text = String(decoding: data, as: UTF8.self)
            text = String(text.dropFirst().dropLast())  // the JSON scalar, quoted if a string
            lines.append("\(flag): \(text)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
