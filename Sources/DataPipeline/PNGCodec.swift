import CSpng
import Foundation

/// PNG decoding and encoding through libspng.
public enum PNGCodec {
    /// Largest accepted image side, so that a forged header cannot make the decoder allocate gigabytes.
    public static let maximumSide: UInt32 = 16_384

    /// Pixel layouts the encoder can write.
    public enum Layout: Sendable, Equatable {
        case grey, greyAlpha, rgb, rgba
        /// One byte per pixel indexing `palette` (RGB triples, at most 256).
        case palette([(UInt8, UInt8, UInt8)])

        public static func == (a: Layout, b: Layout) -> Bool {
            switch (a, b) {
            case (.grey, .grey), (.greyAlpha, .greyAlpha), (.rgb, .rgb), (.rgba, .rgba): return true
            case (.palette(let x), .palette(let y)): return x.elementsEqual(y, by: { $0 == $1 })
            default: return false
            }
        }

        var channels: Int {
            switch self {
            case .grey, .palette: return 1
            case .greyAlpha: return 2
            case .rgb: return 3
            case .rgba: return 4
            }
        }

        var colorType: UInt8 {
            switch self {
            case .grey: return UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue)
            case .greyAlpha: return UInt8(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue)
            case .rgb: return UInt8(SPNG_COLOR_TYPE_TRUECOLOR.rawValue)
            case .rgba: return UInt8(SPNG_COLOR_TYPE_TRUECOLOR_ALPHA.rawValue)
            case .palette: return UInt8(SPNG_COLOR_TYPE_INDEXED.rawValue)
            }
        }
    }

    /// Decodes any PNG (grey, grey+alpha, RGB, RGBA, palette; 1–16 bits) to 8-bit RGB; alpha is dropped as
    /// PIL's `convert("RGB")` does, 16-bit samples are scaled to 8 bits.
    public static func decode(_ bytes: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        let decoded = try decodePixels(bytes, name: name, format: SPNG_FMT_RGB8, channels: 3, flags: 0)
        return RGBImage(width: decoded.width, height: decoded.height, pixels: decoded.pixels)
    }

    /// Decodes any PNG to 8-bit RGBA (interleaved, row-major), with transparency from an alpha channel or a `tRNS`
    /// chunk (palette images), for callers that composite the image themselves.
    public static func decodeRGBA(_ bytes: [UInt8], name: String) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        try bytes.withUnsafeBytes { try decodePixels($0, name: name, format: SPNG_FMT_RGBA8, channels: 4, flags: Int32(SPNG_DECODE_TRNS.rawValue)) }
    }

    private static func decodePixels(_ bytes: UnsafeRawBufferPointer, name: String, format spngFormat: spng_format, channels: Int,
                                     flags: Int32) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        guard let ctx = spng_ctx_new(0) else { throw DataPipelineError.corruptImage(name: name, reason: "cannot create PNG decoder") }
        defer { spng_ctx_free(ctx) }
        func check(_ code: Int32) throws {
            if code != 0 { throw DataPipelineError.corruptImage(name: name, reason: "PNG: " + String(cString: spng_strerror(code))) }
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw DataPipelineError.corruptImage(name: name, reason: "empty file") }
        try check(spng_set_image_limits(ctx, maximumSide, maximumSide))
        try check(spng_set_chunk_limits(ctx, 1 << 26, 1 << 26))
        try check(spng_set_png_buffer(ctx, base, bytes.count))
        var header = spng_ihdr()
        try check(spng_get_ihdr(ctx, &header))
        let format = Int32(spngFormat.rawValue)
        var size = 0
        try check(spng_decoded_image_size(ctx, format, &size))
        let width = Int(header.width), height = Int(header.height)
        guard size == width * height * channels else {
            throw DataPipelineError.corruptImage(name: name, reason: "PNG: unexpected decoded size")
        }
        var pixels = [UInt8](repeating: 0, count: size)
        try pixels.withUnsafeMutableBytes { out in
            try check(spng_decode_image(ctx, out.baseAddress, size, format, flags))
        }
        return (width, height, pixels)
    }

    /// Decodes a PNG held in an array.
    public static func decode(_ bytes: [UInt8], name: String) throws -> RGBImage {
        try bytes.withUnsafeBytes { try decode($0, name: name) }
    }

    /// Encodes an 8-bit RGB image.
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        try encode(samples: image.pixels, width: image.width, height: image.height, layout: .rgb, bitDepth: 8)
    }

    /// Encodes raw samples: `bitDepth` 8 (one byte per channel) or 16 (two bytes per channel, host-endian UInt16 values
    /// laid out as bytes); palette images use one index byte per pixel and must be 8-bit.
    public static func encode(samples: [UInt8], width: Int, height: Int, layout: Layout, bitDepth: Int = 8) throws -> [UInt8] {
        let bytesPerSample = bitDepth == 16 ? 2 : 1
        let isPalette: Bool
        if case .palette = layout { isPalette = true } else { isPalette = false }
        guard bitDepth == 8 || (bitDepth == 16 && !isPalette) else {
            throw DataPipelineError.invalidOption("PNG encoder: bit depth \(bitDepth) unsupported for this layout")
        }
        guard width > 0, height > 0, samples.count == width * height * layout.channels * bytesPerSample else {
            throw DataPipelineError.invalidOption("PNG encoder: \(samples.count) bytes do not match \(width)x\(height)")
        }
        guard let ctx = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw DataPipelineError.invalidOption("PNG encoder: cannot create context")
        }
        defer { spng_ctx_free(ctx) }
        func check(_ code: Int32) throws {
            if code != 0 { throw DataPipelineError.invalidOption("PNG encoder: " + String(cString: spng_strerror(code))) }
        }
        try check(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1))
        var header = spng_ihdr(width: UInt32(width), height: UInt32(height), bit_depth: UInt8(bitDepth),
                               color_type: layout.colorType, compression_method: 0, filter_method: 0, interlace_method: 0)
        try check(spng_set_ihdr(ctx, &header))
        if case .palette(let colours) = layout {
            guard !colours.isEmpty, colours.count <= 256 else { throw DataPipelineError.invalidOption("PNG encoder: palette needs 1...256 colours") }
            var plte = spng_plte()
            plte.n_entries = UInt32(colours.count)
            withUnsafeMutableBytes(of: &plte.entries) { raw in
                let entries = raw.bindMemory(to: spng_plte_entry.self)
                for (i, c) in colours.enumerated() { entries[i] = spng_plte_entry(red: c.0, green: c.1, blue: c.2, alpha: 255) }
            }
            try check(spng_set_plte(ctx, &plte))
        }
        // 16-bit samples are given host-endian; SPNG_FMT_PNG means "the PNG's own layout" in host byte order.
        try samples.withUnsafeBytes { raw in
            try check(spng_encode_image(ctx, raw.baseAddress, raw.count, Int32(SPNG_FMT_PNG.rawValue), Int32(SPNG_ENCODE_FINALIZE.rawValue)))
        }
        var length = 0
        var error: Int32 = 0
        guard let buffer = spng_get_png_buffer(ctx, &length, &error), error == 0 else {
            throw DataPipelineError.invalidOption("PNG encoder: " + String(cString: spng_strerror(error)))
        }
        defer { free(buffer) }
        return [UInt8](UnsafeRawBufferPointer(start: buffer, count: length))
    }
}
