import TensorCore
import XCTest
@testable import DataPipeline

final class CodecTests: XCTestCase {
    func testPNGRGBRoundTripIsExact() throws {
        var rng = SplitMix64(seed: 7)
        let pixels = (0..<(13 * 9 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let image = RGBImage(width: 13, height: 9, pixels: pixels)
        let decoded = try PNGCodec.decode(try PNGCodec.encode(image), name: "rgb.png")
        XCTAssertEqual(decoded, image)
    }

    func testPNGGreyGreyAlphaRGBAAndPaletteBecomeRGB() throws {
        let w = 5, h = 3
        let grey: [UInt8] = (0..<(w * h)).map { UInt8($0 * 17) }
        let expectedGrey: [UInt8] = grey.flatMap { [$0, $0, $0] }
        XCTAssertEqual(try PNGCodec.decode(PNGCodec.encode(samples: grey, width: w, height: h, layout: .grey), name: "g").pixels, expectedGrey)

        let greyAlpha: [UInt8] = grey.flatMap { [$0, 255 - $0] }
        XCTAssertEqual(try PNGCodec.decode(PNGCodec.encode(samples: greyAlpha, width: w, height: h, layout: .greyAlpha), name: "ga").pixels, expectedGrey)

        var rgba: [UInt8] = [], expectedRGBA: [UInt8] = []
        for i in 0..<(w * h) {
            let rgb: [UInt8] = [UInt8(i), UInt8(2 * i), UInt8(3 * i)]
            rgba += rgb + [UInt8(i * 10)]
            expectedRGBA += rgb
        }
        XCTAssertEqual(try PNGCodec.decode(PNGCodec.encode(samples: rgba, width: w, height: h, layout: .rgba), name: "rgba").pixels, expectedRGBA)

        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (10, 20, 30)]
        let indices = (0..<(w * h)).map { UInt8($0 % 3) }
        var expectedPalette: [UInt8] = []
        for index in indices {
            let c = palette[Int(index)]
            expectedPalette += [c.0, c.1, c.2]
        }
        XCTAssertEqual(try PNGCodec.decode(PNGCodec.encode(samples: indices, width: w, height: h, layout: .palette(palette)), name: "p").pixels,
                       expectedPalette)
    }

    func testPNG16BitIsScaledTo8Bit() throws {
        let w = 4, h = 2
        let values: [UInt16] = (0..<(w * h * 3)).map { UInt16($0 * 2500) }
        let bytes = values.withUnsafeBytes { Array($0) }  // host-endian, as the encoder expects
        let decoded = try PNGCodec.decode(PNGCodec.encode(samples: bytes, width: w, height: h, layout: .rgb, bitDepth: 16), name: "16")
        for (i, v) in values.enumerated() {
            XCTAssertEqual(Double(decoded.pixels[i]), Double(v) / 257, accuracy: 1, "sample \(i)")
        }
    }

    func testJPEGRoundTripWithinTolerance() throws {
        let image = gradientImage(width: 64, height: 48)
        let decoded = try JPEGCodec.decode(try JPEGCodec.encode(image, quality: 95), name: "x.jpg")
        XCTAssertEqual(decoded.width, 64)
        XCTAssertEqual(decoded.height, 48)
        let meanError = zip(decoded.pixels, image.pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(image.pixels.count)
        XCTAssertLessThan(meanError, 3.0)
    }

    func testGreyJPEGBecomesRGB() throws {
        let w = 32, h = 16
        let grey = (0..<(w * h)).map { UInt8(($0 % w) * 8) }
        let decoded = try JPEGCodec.decode(try JPEGCodec.encode(samples: grey, width: w, height: h, greyscale: true, quality: 98), name: "g.jpg")
        for i in 0..<(w * h) {
            XCTAssertEqual(decoded.pixels[3 * i], decoded.pixels[3 * i + 1])
            XCTAssertEqual(decoded.pixels[3 * i], decoded.pixels[3 * i + 2])
            XCTAssertEqual(Double(decoded.pixels[3 * i]), Double(grey[i]), accuracy: 12)
        }
    }

    func testCorruptAndUnsupportedFilesAreErrorsNotCrashes() throws {
        let png = try PNGCodec.encode(gradientImage(width: 20, height: 20))
        let jpeg = try JPEGCodec.encode(gradientImage(width: 40, height: 40))
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("garbage", Array("hello, not an image".utf8)),
            ("truncated.png", Array(png.prefix(png.count / 2))),
            ("truncated.jpg", Array(jpeg.prefix(jpeg.count / 2))),
            ("header-only.jpg", Array(jpeg.prefix(4))),
            ("fake.webp", Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8)),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try ImageDecoder.decode(bytes, name: name), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(name), "error should name the file: \(error)")
            }
        }
        var flipped = png
        flipped[png.count / 2] ^= 0xFF  // CRC mismatch inside IDAT
        XCTAssertThrowsError(try ImageDecoder.decode(flipped, name: "flipped.png"))
    }

    func testWebPRoundTripWhenLibwebpIsPresent() throws {
        try XCTSkipUnless(WebPCodec.isAvailable, "libwebp runtime not installed")
        let image = gradientImage(width: 21, height: 13)
        let bytes = try WebPCodec.encodeLossless(image)
        XCTAssertEqual(bytes.withUnsafeBytes { ImageFormat.sniff($0) }, .webp)
        XCTAssertEqual(try ImageDecoder.decode(bytes, name: "x.webp"), image)
        XCTAssertThrowsError(try ImageDecoder.decode(Array(bytes.prefix(20)), name: "cut.webp"))
    }

    func testJPEGWithBenignWarningIsAccepted() throws {
        // Garbage bytes between two markers trigger libjpeg's "extraneous bytes before marker" warning.
        let image = gradientImage(width: 32, height: 32)
        var jpeg = try JPEGCodec.encode(image, quality: 95)
        let sos = try XCTUnwrap((2..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        jpeg.insert(contentsOf: [0x12, 0x34, 0x56], at: sos)
        let decoded = try JPEGCodec.decode(jpeg, name: "warn.jpg")
        let meanError = zip(decoded.pixels, image.pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(image.pixels.count)
        XCTAssertLessThan(meanError, 3.0)
    }

    func testSniffIgnoresExtension() throws {
        let png = try PNGCodec.encode(gradientImage(width: 4, height: 4))
        XCTAssertEqual(png.withUnsafeBytes { ImageFormat.sniff($0) }, .png)
        XCTAssertEqual(try ImageDecoder.decode(png, name: "mislabelled.jpg").width, 4)
    }
}
