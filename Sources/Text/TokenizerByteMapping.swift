/// GPT-2/CLIP byte-level mapping: every byte is shown as one printable character so merges files are text.
enum ByteLevelMapping {
    /// Bytes in vocabulary order: the printable ranges first, then the 68 others in increasing order.
    static let vocabularyOrder: [UInt8] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let printableSet = Set(printable)
        let others = (0...255).filter { !printableSet.contains($0) }
        return (printable + others).map { UInt8($0) }
    }()

    /// The character each byte is written as.
    static let characterForByte: [Unicode.Scalar] = {
        var characters = [Unicode.Scalar](repeating: " ", count: 256)
        var nextRemapped: UInt32 = 0x100
        for byte in vocabularyOrder {
            let isPrintable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || byte >= 0xAE
            if isPrintable {
                characters[Int(byte)] = Unicode.Scalar(byte)
            } else {
                characters[Int(byte)] = Unicode.Scalar(nextRemapped)!
                nextRemapped += 1
            }
        }
        return characters
    }()

    /// Inverse of `characterForByte`.
    static let byteForCharacter: [Unicode.Scalar: UInt8] = {
        var bytes: [Unicode.Scalar: UInt8] = [:]
        for byte in 0...255 { bytes[characterForByte[byte]] = UInt8(byte) }
        return bytes
    }()

    /// The mapped form of some bytes, as written in merges files.
    static func text(for bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(characterForByte[Int(byte)]) }
        return String(scalars)
    }

    /// The bytes a mapped string stands for; nil if it contains a character outside the mapping.
    static func bytes(for text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard let byte = byteForCharacter[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
