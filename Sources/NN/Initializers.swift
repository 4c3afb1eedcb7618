import TensorCore

/// Initial values as PyTorch and OpenCLIP create them, drawn from a seeded generator.
public enum Initializer {
    case zeros
    case ones
    case normal(std: Float)
    /// U(-bound, bound).
    case uniform(bound: Float)

    /// PyTorch's default for `nn.Linear`/`nn.Conv2d` weights and biases: U(±1/√fan_in).
    public static func pytorchDefault(fanIn: Int) -> Initializer { .uniform(bound: 1 / Float(fanIn).squareRoot()) }

    /// Xavier/Glorot uniform, as `nn.MultiheadAttention` initialises `in_proj_weight`.
    public static func xavierUniform(fanIn: Int, fanOut: Int) -> Initializer {
        .uniform(bound: (6 / Float(fanIn + fanOut)).squareRoot())
    }

    public func make(_ shape: [Int], _ generator: inout SplitMix64) -> Tensor {
        switch self {
        case .zeros: return .zeros(shape)
        case .ones: return .ones(shape)
        case .normal(let std): return .randomNormal(shape, std: std, using: &generator)
        case .uniform(let bound): return .randomUniform(shape, low: -bound, high: bound, using: &generator)
        }
    }
}

/// Registers parameters under a key prefix while a model is being built.
public struct ParameterBuilder {
    public let store: ParameterStore
    public let prefix: String
    let generator: Box

    final class Box { var generator: SplitMix64; init(_ g: SplitMix64) { generator = g } }

    public init(store: ParameterStore, seed: UInt64) {
        self.store = store
        prefix = ""
        generator = Box(SplitMix64(seed: seed))
    }

    private init(store: ParameterStore, prefix: String, generator: Box) {
        self.store = store
        self.prefix = prefix
        self.generator = generator
    }

    /// A builder whose keys start with `name.` (e.g. `visual`, `transformer.resblocks.0`).
    public func scope(_ name: String) -> ParameterBuilder {
        ParameterBuilder(store: store, prefix: prefix.isEmpty ? name : "\(prefix).\(name)", generator: generator)
    }

    /// Registers `name` (relative to the prefix) with the given shape and initial values.
    public func parameter(_ name: String, _ shape: [Int], _ initializer: Initializer) -> Parameter {
        let value = initializer.make(shape, &generator.generator)
        return store.register(prefix.isEmpty ? name : "\(prefix).\(name)", shape: shape, initial: value)
    }
}
