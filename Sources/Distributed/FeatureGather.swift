/// Features of all ranks gathered for the contrastive loss, rank by rank.
public struct GatheredFeatures: Equatable, Sendable {
    /// Row-major `[sum(rowsPerRank), featureDimension]`; rank r's rows follow rank r-1's.
    public let values: [Float]
    /// Rows contributed by each rank (ranks may hold different batch sizes).
    public let rowsPerRank: [Int]
}

/// All-gathers feature rows for the global contrastive loss, and carries gradients back.
///
/// Forward: every rank receives every rank's rows. Backward: each rank holds a gradient for all
/// gathered rows; the gradient of rank r's own rows is the sum, over all ranks, of their gradient
/// for those rows (a reduce-scatter with sum), as in `torch.distributed.nn.all_gather`.
public enum FeatureGather {
    /// Gathers `local` (`rowsPerRank[rank]` rows of `featureDimension`) from all ranks into `gathered`.
    public static func allGather(_ local: UnsafeBufferPointer<Float>, into gathered: UnsafeMutableBufferPointer<Float>,
                                 rowsPerRank: [Int], featureDimension: Int, communicator: Communicator) throws {
        let counts = try elementCounts(rowsPerRank, featureDimension, communicator)
        try communicator.allGatherV(local, into: gathered, counts: counts)
    }

    /// Writes into `localGradient` the sum over ranks of their `gatheredGradient` rows that belong to this rank.
    public static func allGatherBackward(_ gatheredGradient: UnsafeBufferPointer<Float>,
                                         into localGradient: UnsafeMutableBufferPointer<Float>,
                                         rowsPerRank: [Int], featureDimension: Int, communicator: Communicator) throws {
        let counts = try elementCounts(rowsPerRank, featureDimension, communicator)
        try communicator.reduceScatter(gatheredGradient, into: localGradient, counts: counts, .sum)
    }

    private static func elementCounts(_ rowsPerRank: [Int], _ featureDimension: Int, _ communicator: Communicator) throws -> [Int] {
        guard featureDimension > 0 else {
            throw DistributedError.invalidArgument("feature dimension must be positive, got \(featureDimension)")
        }
        guard rowsPerRank.count == communicator.size else {
            throw DistributedError.invalidArgument("\(rowsPerRank.count) row counts for \(communicator.size) ranks")
        }
        return rowsPerRank.map { $0 * featureDimension }
    }
}

/// Gathers this rank's `[rows, featureDimension]` features from all ranks; row counts may differ by rank.
/// Pass `rowsPerRank` when every rank already knows it to save the collective that exchanges it.
public func allGatherFeatures(_ local: [Float], featureDimension: Int, rowsPerRank knownRows: [Int]? = nil,
                              communicator: Communicator) throws -> GatheredFeatures {
    guard featureDimension > 0, local.count % featureDimension == 0 else {
        throw DistributedError.invalidArgument("allGatherFeatures: \(local.count) values are not rows of \(featureDimension)")
    }
    let rowsPerRank = try knownRows ?? communicator.allGatherCounts(local.count / featureDimension)
    var gathered = [Float](repeating: 0, count: rowsPerRank.reduce(0, +) * featureDimension)
    try local.withUnsafeBufferPointer { localBuffer in
        try gathered.withUnsafeMutableBufferPointer {
            try FeatureGather.allGather(localBuffer, into: $0, rowsPerRank: rowsPerRank,
                                        featureDimension: featureDimension, communicator: communicator)
        }
    }
    return GatheredFeatures(values: gathered, rowsPerRank: rowsPerRank)
}

/// The backward of `allGatherFeatures`: this rank's row gradients summed over all ranks.
public func allGatherFeaturesBackward(_ gatheredGradient: [Float], rowsPerRank: [Int], featureDimension: Int,
                                      communicator: Communicator) throws -> [Float] {
    guard rowsPerRank.count == communicator.size else {
        throw DistributedError.invalidArgument("\(rowsPerRank.count) row counts for \(communicator.size) ranks")
    }
    var localGradient = [Float](repeating: 0, count: rowsPerRank[communicator.rank] * featureDimension)
    try gatheredGradient.withUnsafeBufferPointer { gatheredBuffer in
        try localGradient.withUnsafeMutableBufferPointer {
            try FeatureGather.allGatherBackward(gatheredBuffer, into: $0, rowsPerRank: rowsPerRank,
                                                featureDimension: featureDimension, communicator: communicator)
        }
    }
    return localGradient
}
