import Foundation

/// WebP through the libwebp runtime library, loaded with `dlopen` because the target system ships libwebp7 without
/// its development package (so no header or pkg-config module is available). When the library is absent, WebP
/// samples are reported as unsupported and skipped like any undecodable image.
public enum WebPCodec {
    private typealias DecodeRGB = @convention(c) (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<UInt8>?
    private typealias GetInfo = @convention(c) (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32
    private typealias Free = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias EncodeLossless = @convention(c) (UnsafePointer<UInt8>?, Int32, Int32, Int32, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int

    private struct Library: @unchecked Sendable {
        let decodeRGB: DecodeRGB
        let getInfo: GetInfo
        let free: Free
        let encodeLosslessRGB: EncodeLossless
    }

    /// Resolved once (Swift initialises statics exactly once, thread-safely).
    private static let library: Library? = {
        for name in ["libwebp.so.7", "libwebp.so", "libwebp.dylib"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let d = dlsym(handle, "WebPDecodeRGB"), let g = dlsym(handle, "WebPGetInfo"), let f = dlsym(handle, "WebPFree"),
                  let e = dlsym(handle, "WebPEncodeLosslessRGB") else { continue }
            return Library(decodeRGB: unsafeBitCast(d, to: DecodeRGB.self), getInfo: unsafeBitCast(g, to: GetInfo.self),
                           free: unsafeBitCast(f, to: Free.self), encodeLosslessRGB: unsafeBitCast(e, to: EncodeLossless.self))
        }
        return nil
    }()

    /// Whether libwebp could be loaded at run time.
    public static var isAvailable: Bool { library != nil }

    /// Decodes a WebP (lossy or lossless; alpha dropped) to 8-bit RGB.
    public static func decode(_ bytes: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        guard let lib = library else { throw DataPipelineError.unsupportedImageFormat(name: name, format: "webp (libwebp not found)") }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw DataPipelineError.corruptImage(name: name, reason: "empty file")
        }
        var width: Int32 = 0, height: Int32 = 0
        guard lib.getInfo(base, bytes.count, &width, &height) != 0, width > 0, height > 0,
              width <= JPEGCodec.maximumSide, height <= JPEGCodec.maximumSide else {
            throw DataPipelineError.corruptImage(name: name, reason: "WebP header invalid")
        }
        guard let pixels = lib.decodeRGB(base, bytes.count, &width, &height) else {
            throw DataPipelineError.corruptImage(name: name, reason: "WebP data invalid")
        }
        defer { lib.free(pixels) }
        return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 3)))
    }

    /// Encodes losslessly (used by tests and exports).
    public static func encodeLossless(_ image: RGBImage) throws -> [UInt8] {
        guard let lib = library else { throw DataPipelineError.invalidOption("WebP encoder: libwebp not found") }
        var output: UnsafeMutablePointer<UInt8>? = nil
        let size = image.pixels.withUnsafeBufferPointer {
            lib.encodeLosslessRGB($0.baseAddress, Int32(image.width), Int32(image.height), Int32(image.width * 3), &output)
        }
        guard size > 0, let output else { throw DataPipelineError.invalidOption("WebP encoder failed") }
        defer { lib.free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
