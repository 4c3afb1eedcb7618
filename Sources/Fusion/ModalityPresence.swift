import TensorCore

/// Which modalities each sample has: `[samples, modalities]` of 1 (present) and 0 (dropped). Heads read it to leave a
/// dropped modality out (late: its logits leave the average; gated: its gate input is zeroed and the gate renormalised).
public struct ModalityPresence {
    /// Row-major `[samples, modalities]`.
    public let values: [Float]
    public let samples: Int
    public let modalities: Int

    public init(values: [Float], samples: Int, modalities: Int) {
        precondition(values.count == samples * modalities, "presence: \(values.count) values for \(samples) × \(modalities)")
        self.values = values
        self.samples = samples
        self.modalities = modalities
    }

    /// Every modality of every sample present.
    public static func all(samples: Int, modalities: Int) -> ModalityPresence {
        ModalityPresence(values: [Float](repeating: 1, count: samples * modalities), samples: samples, modalities: modalities)
    }

    /// Every sample with modality `removed` missing (evaluation `_without_<modality>`).
    public static func without(_ removed: Int, samples: Int, modalities: Int) -> ModalityPresence {
        ModalityPresence(values: (0..<(samples * modalities)).map { $0 % modalities == removed ? 0 : 1 }, samples: samples, modalities: modalities)
    }

    /// Modality dropout: each modality of sample `index` dropped with probability `probability`, drawn from `seed` and the
    /// index alone (so a recomputed micro-batch, a resumed run and any world size drop the same ones). When every
    /// modality would be dropped, the one with the largest draw stays: a sample always keeps one.
    public static func dropout(probability: Double, seed: UInt64, sampleIndices: [Int32], modalities: Int) -> ModalityPresence {
        var values: [Float] = []
        values.reserveCapacity(sampleIndices.count * modalities)
        for index in sampleIndices {
            var generator = SplitMix64(mixing: seed, 0x6d6f_6461_6c69_7479, UInt64(UInt32(bitPattern: index)))
            let draws = (0..<modalities).map { _ in Double(generator.next() >> 11) / Double(1 << 53) }
            var keep = draws.map { $0 >= probability }
            if !keep.contains(true) { keep[draws.indices.max { draws[$0] < draws[$1] }!] = true }
            values += keep.map { $0 ? 1 : 0 }
        }
        return ModalityPresence(values: values, samples: sampleIndices.count, modalities: modalities)
    }

    /// The mask as a constant tensor `[samples, modalities]`.
    public var tensor: Tensor { Tensor(shape: [samples, modalities], values: values) }

    /// Column `modality` as a constant tensor `[samples, 1]`.
    public func column(_ modality: Int) -> Tensor {
        Tensor(shape: [samples, 1], values: (0..<samples).map { values[$0 * modalities + modality] })
    }
}
