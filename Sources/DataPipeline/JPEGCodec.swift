import CTurboJPEG

/// JPEG decoding and encoding through libturbojpeg.
public enum JPEGCodec {
    /// Largest accepted image side, so that a forged header cannot make the decoder allocate gigabytes.
    public static let maximumSide = 16_384

    /// Decodes a baseline or progressive JPEG (colour or greyscale) to 8-bit RGB. Like PIL, a truncated stream is an
    /// error (rather than training on a half-grey image) while libjpeg's benign warnings, common in scraped data
    /// (e.g. "extraneous bytes before marker"), are accepted.
    public static func decode(_ bytes: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw DataPipelineError.corruptImage(name: name, reason: "empty file") }
        guard let handle = tjInitDecompress() else { throw DataPipelineError.corruptImage(name: name, reason: "cannot create JPEG decoder") }
        defer { tjDestroy(handle) }
        let source = base.assumingMemoryBound(to: UInt8.self)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        if tjDecompressHeader3(handle, source, UInt(bytes.count), &width, &height, &subsampling, &colourspace) != 0,
           isFatal(handle) {
            throw DataPipelineError.corruptImage(name: name, reason: "JPEG header: " + String(cString: tjGetErrorStr2(handle)))
        }
        guard width > 0, height > 0, width <= maximumSide, height <= maximumSide else {
            throw DataPipelineError.corruptImage(name: name, reason: "JPEG size \(width)x\(height) out of range")
        }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = pixels.withUnsafeMutableBufferPointer { out in
            tjDecompress2(handle, source, UInt(bytes.count), out.baseAddress, width, 0, height, Int32(TJPF_RGB.rawValue), 0)
        }
        if status != 0, isFatal(handle) {
            throw DataPipelineError.corruptImage(name: name, reason: "JPEG: " + String(cString: tjGetErrorStr2(handle)))
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    /// Fatal errors, and the truncation warning (libjpeg's JWRN_JPEG_EOF, "Premature end of JPEG file"), reject the
    /// image; other warnings do not.
    private static func isFatal(_ handle: tjhandle) -> Bool {
        tjGetErrorCode(handle) == Int32(TJERR_FATAL.rawValue) || String(cString: tjGetErrorStr2(handle)).contains("Premature end")
    }

    /// Decodes a JPEG held in an array.
    public static func decode(_ bytes: [UInt8], name: String) throws -> RGBImage {
        try bytes.withUnsafeBytes { try decode($0, name: name) }
    }

    /// Encodes an RGB image with 4:2:0 chroma subsampling at the given quality (1–100).
    public static func encode(_ image: RGBImage, quality: Int = 90) throws -> [UInt8] {
        try encode(samples: image.pixels, width: image.width, height: image.height, greyscale: false, quality: quality)
    }

    /// Encodes raw 8-bit samples: RGB triples, or one grey byte per pixel when `greyscale` (written as a 1-component JPEG).
    public static func encode(samples: [UInt8], width: Int, height: Int, greyscale: Bool, quality: Int = 90) throws -> [UInt8] {
        let channels = greyscale ? 1 : 3
        guard width > 0, height > 0, samples.count == width * height * channels else {
            throw DataPipelineError.invalidOption("JPEG encoder: \(samples.count) bytes do not match \(width)x\(height)")
        }
        guard let handle = tjInitCompress() else { throw DataPipelineError.invalidOption("JPEG encoder: cannot create context") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let format = greyscale ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue)
        let subsampling = greyscale ? Int32(TJSAMP_GRAY.rawValue) : Int32(TJSAMP_420.rawValue)
        let status = samples.withUnsafeBufferPointer { input in
            tjCompress2(handle, input.baseAddress, Int32(width), 0, Int32(height), format, &output, &size,
                        subsampling, Int32(max(1, min(100, quality))), 0)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw DataPipelineError.invalidOption("JPEG encoder: " + String(cString: tjGetErrorStr2(handle)))
        }
        return [UInt8](UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
