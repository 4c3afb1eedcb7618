/// How embedding values are stored: float32, or float16 (half the size, about three significant digits, which inner
/// products of unit vectors tolerate).
public enum EmbeddingDType: String, Codable, Sendable, CaseIterable {
    case f32, f16

    /// numpy's `descr` of the type (little-endian).
    public var numpyDescriptor: String { self == .f32 ? "<f4" : "<f2" }

    public var byteWidth: Int { self == .f32 ? 4 : 2 }

    init?(numpyDescriptor: String) {
        guard let match = Self.allCases.first(where: { $0.numpyDescriptor == numpyDescriptor }) else { return nil }
        self = match
    }
}
