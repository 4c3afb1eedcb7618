import CXXHash

/// XXH3-64 (seed 0) of a byte range, the checksum used for headers and tensor payloads.
@inline(__always)
func xxh3(_ bytes: UnsafeRawPointer?, count: Int) -> UInt64 {
    // XXH3 accepts a null pointer only for an empty range; keep the pointer valid regardless.
    guard count > 0, let bytes else { return XXH3_64bits(nil, 0) }
    return XXH3_64bits(bytes, count)
}

func xxh3(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
    xxh3(buffer.baseAddress, count: buffer.count)
}

/// Parses the 16-hex-digit form used in the header.
func parseHexChecksum(_ text: String) -> UInt64? {
    guard text.count == 16 else { return nil }
    return UInt64(text, radix: 16)
}
