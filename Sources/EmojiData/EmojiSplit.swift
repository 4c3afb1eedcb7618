/// The train / validation split of the emoji data set, decided by a hash of each emoji's name alone, so it never
/// depends on the order of the list, on which other emoji exist, or on the font.
public enum EmojiSplit {
    /// True when `name` belongs to the validation split: its hash, as a fraction of 2^53, is below `valFraction`.
    public static func isValidation(name: String, valFraction: Double) -> Bool {
        Double(hash(name) >> 11) / Double(UInt64(1) << 53) < valFraction
    }

    /// FNV-1a over the UTF-8 bytes, then SplitMix64's finaliser to spread FNV's weak low and high bits.
    public static func hash(_ name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}
