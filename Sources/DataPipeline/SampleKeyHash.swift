import TensorCore

extension SplitMix64 {
    /// A hash of a text's UTF-8 bytes (a sample's key) that is the same on every machine and run (Swift's `Hasher` is
    /// seeded per process), to seed a sample's own random stream whatever the order or sharding of the data.
    public static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { mix($0 ^ UInt64($1)) }
    }
}
