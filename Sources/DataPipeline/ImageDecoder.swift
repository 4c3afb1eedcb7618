/// Image container formats recognised from their leading bytes.
public enum ImageFormat: String, Sendable {
    case png, jpeg, webp, unknown

    /// Identifies the format from magic bytes, ignoring the file extension (web-scraped data often lies about it).
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat {
        func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
        if at(0) == 0x89, at(1) == 0x50, at(2) == 0x4E, at(3) == 0x47 { return .png }
        if at(0) == 0xFF, at(1) == 0xD8, at(2) == 0xFF { return .jpeg }
        if at(0) == 0x52, at(1) == 0x49, at(2) == 0x46, at(3) == 0x46, at(8) == 0x57, at(9) == 0x45, at(10) == 0x42, at(11) == 0x50 {
            return .webp
        }
        return .unknown
    }
}

/// Decodes encoded image files to 8-bit RGB, choosing the codec from the content.
public enum ImageDecoder {
    /// Decodes PNG, JPEG or WebP bytes (WebP only when libwebp loads at run time, else `unsupportedImageFormat`);
    /// anything else is a `corruptImage` error, which the loader counts as a skipped sample.
    public static func decode(_ bytes: [UInt8], name: String) throws -> RGBImage {
        try bytes.withUnsafeBytes { raw in
            switch ImageFormat.sniff(raw) {
            case .png: return try PNGCodec.decode(raw, name: name)
            case .jpeg: return try JPEGCodec.decode(raw, name: name)
            case .webp: return try WebPCodec.decode(raw, name: name)
            case .unknown:
                if raw.isEmpty { throw DataPipelineError.corruptImage(name: name, reason: "empty file") }
                throw DataPipelineError.corruptImage(name: name, reason: "not a PNG, JPEG or WebP file")
            }
        }
    }
}
