import NN

/// Where the parameters that train in the current stage keep their gradients and AdamW moments: packed back to back
/// in registration order, so a frozen parameter takes no space in either. The step engine lays them out again when
/// the trainable set changes (between stages).
struct TrainableLayout: Equatable {
    /// Store indices of the trainable parameters, in registration order.
    let parameters: [Int]
    /// Position of each of `parameters` in the packed buffers.
    let offsets: [Int]
    /// Element count of each of `parameters`.
    let counts: [Int]
    /// Elements of the packed buffers.
    let totalCount: Int
    /// Start in the parameter buffer when the trainable parameters are one contiguous run of it (then the packed
    /// space is that run itself), else nil.
    let contiguousValueOffset: Int?
    /// `position[i]`: the index in `parameters` of store parameter i, nil when it is frozen.
    let position: [Int?]

    init(store: ParameterStore, trainable: [Bool]) {
        precondition(trainable.count == store.parameters.count, "a trainable flag for each of \(store.parameters.count) parameters")
        var parameters: [Int] = [], offsets: [Int] = [], counts: [Int] = []
        var position = [Int?](repeating: nil, count: trainable.count)
        var total = 0
        for (i, p) in store.parameters.enumerated() where trainable[i] {
            position[i] = parameters.count
            parameters.append(i)
            offsets.append(total)
            counts.append(p.count)
            total += p.count
        }
        self.parameters = parameters
        self.offsets = offsets
        self.counts = counts
        self.position = position
        totalCount = total
        let first = parameters.first.map { store.parameters[$0].offset } ?? 0
        let contiguous = zip(parameters, offsets).allSatisfy { store.parameters[$0.0].offset == first + $0.1 }
        contiguousValueOffset = contiguous ? first : nil
    }

    /// Every parameter of `store` trains.
    static func all(_ store: ParameterStore) -> TrainableLayout {
        TrainableLayout(store: store, trainable: [Bool](repeating: true, count: store.parameters.count))
    }

    /// The packed range of store parameter `index`, nil when it is frozen.
    func packedRange(of index: Int) -> Range<Int>? {
        position[index].map { offsets[$0]..<(offsets[$0] + counts[$0]) }
    }

    /// `values` (packed as `source`) packed as this layout: a parameter in both keeps its values, one only here gets zeros.
    func repack(_ values: [Float], from source: TrainableLayout) -> [Float] {
        precondition(values.count == source.totalCount, "\(values.count) values for a layout of \(source.totalCount)")
        var result = [Float](repeating: 0, count: totalCount)
        for (k, i) in parameters.enumerated() {
            guard let from = source.packedRange(of: i) else { continue }
            result.replaceSubrange(offsets[k]..<(offsets[k] + counts[k]), with: values[from])
        }
        return result
    }

    /// Copies the packed `range` between the parameter values (`values`, the store's whole buffer) and `packed`, in the
    /// direction `toPacked` says.
    func copy(_ range: Range<Int>, values: UnsafeMutablePointer<Float>, packed: UnsafeMutablePointer<Float>,
              store: ParameterStore, toPacked: Bool) {
        for (k, i) in parameters.enumerated() {
            let lower = max(offsets[k], range.lowerBound), upper = min(offsets[k] + counts[k], range.upperBound)
            guard lower < upper else { continue }
            let value = values + store.parameters[i].offset + (lower - offsets[k])
            if toPacked { (packed + lower).update(from: value, count: upper - lower) }
            else { value.update(from: packed + lower, count: upper - lower) }
        }
    }
}
