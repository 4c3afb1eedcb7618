import TensorCore
import XCTest
@testable import DataPipeline

/// Compares the resampler with Pillow 13 (the library torchvision's PIL path, hence OpenCLIP's preprocessing, uses).
/// References were produced once by this Python, on the same synthetic image the test builds:
///
///     img = Image.frombytes("RGB", (57, 43), bytes(((x*7 + y*13 + c*50 + (x*y) % 37) % 256)
///                                                   for y in range(43) for x in range(57) for c in range(3)))
///     eval16  = img.resize((21, 16), BICUBIC).crop((2, 0, 18, 16))          # Resize(16) + CenterCrop(16)
///     bicubic = img.crop((5, 3, 45, 38)).resize((16, 16), BICUBIC)          # a RandomResizedCrop box
///     bilinear = img.crop((5, 3, 45, 38)).resize((16, 16), BILINEAR)
///     up48    = img.resize((63, 48), BICUBIC).crop((8, 20, 56, 24))         # Resize(48) + CenterCrop, rows 20..<24
///
/// Pillow uses 22-bit fixed-point weights and we use floats, so a rare value may differ by one level (measured: three
/// cases bit-exact, the upscale one level off on 0.5% of values).
final class PILReferenceTests: XCTestCase {
    let image: RGBImage = {
        var pixels: [UInt8] = []
        for y in 0..<43 { for x in 0..<57 { for c in 0..<3 { pixels.append(UInt8((x * 7 + y * 13 + c * 50 + (x * y) % 37) % 256)) } } }
        return RGBImage(width: 57, height: 43, pixels: pixels)
    }()

    static let eval16 =
        "3e70a25486b96a9cd27dafd093ca87a1d756b6e541d0742bea5b447c315a5c3d714c4a7c194e80336597497bad6092c4" +
        "70a2d882b4ef94c8a4a3e061bccc1acf9624ec3741c02554942b651c45782964963b71a34274a66193c87bade68cbde3" +
        "92c7aea1dc64b7e11dcaae21dd433eb91a538930684e44781e5a8c376a9c4a7cae6092c46b9dd88dbfc298cfa7ade940" +
        "b1c829cba724de473cc82e4d7c2f6221437623598b2f689a4779ab5e90c46ea0d980b1ed94caada9e434c1b829db732e" +
        "de4c36e5224e9c28624d3e732152853067994678aa5789be6b9dd480b2d593c9a5a0dc5abaca29d38b29cf3a41a11f5a" +
        "c6205a48396d1751832d62944478a95688bb6b9dd67caed393c7aea5d874bac82dc6b51cd6393bd71d525a2c641f4578" +
        "294c7e245f914173a55688ba699bd378aadd8bc0c3a0d74bb4e334c9ad2bd65138e12448632f663844771f568835699b" +
        "3c71a35284b56496cc75a7e188bcc59fda77b2d21ac6ae22dd6c35d7234c602d643f3b70214e802d6698487bad5c8ec0" +
        "6395cb77a8e487b9e09bd572abd244c5cc23d86633d6224ab8245a523a6e2f5082245f914174a75b8dc06d9fd880b2ee" +
        "83b6d395cb9ca7da37bcb116d3692ecd3146e2225b503b701b4f822c62944175a75082b46597ce7aacd98ec1c09ed568" +
        "a7da5bb7dc1dd0932eef3e46ae225775336949487b2660924074a65184b6689acf71a3d689bcb99ed364afe23ac6ca18" +
        "cc7126e4283fc11c5380326940487b295a8c336b9d4f81b36294ca76a8e58cbee891c5c1b0e122bcbc18dc4b34d8224a" +
        "dd1d4b9c2b621644761c5a8c31699b4e81b35d8fc273a5dc87bad09ed171a6de30b2e119de513fdb1c48c9215541386d" +
        "2542752052842e63954476a85486ba6ea0d77eb1e191c4f4a2d24bb0e303c6d71ece7734a2295d343a6f1f4b7e235b8c" +
        "255c8e4074a65789bb699bd280b2ca8bc0bca2d049b4e839ce6b2ceb37459e3f5e682c685737691b508233689a4d7fb1" +
        "5b8dbf6a9ccf7badde8cbecaa2d75fb3d11bc9a428dc4c38bd314fa9235e1e477d225a8c265e904b7eb06697c972a4da"
    static let bicubic =
        "6ea0d682b4f28ec0cd9bd06daee53cc3b922d85e37f8114da4285a8b34661a46782f63954274a63f71a35b8dc075a7dd" +
        "8dbfbc93c8a9aae336bae318cc9b29df2142d224559532645241731e588a2f61934375a75b8dbf5d8fc37eb0da92c4c1" +
        "9ed157b8da26c5b921da533ad2394b87295e293e702551832b61933b6d9f5587b95e90c274a6de7eb0e79ed187a4d952" +
        "c0b51fd36032f2264bae1d5776326719487a255c8e396d9f4678a95b8dc06d9fd57fb1e78dbfd69ed387b5e911c8aa24" +
        "e52242eb2250842e644a44761e54863165974375a75385b76597cd78a9dc89bcc69bd277a9e626bcbe1ed57435e22446" +
        "d6245a56376a0d4c7d275f913b6ea05082b46193c672a4da84b6ce98cb9da9db6abbc32ec6b721d3403be7194f752a60" +
        "3744761a57893567994a7cae5e90c26c9ed579abde8dc1cba2d73fb2ea3bc5bf27d95f33ef28428f285c3f3e71274a7c" +
        "2c62944274a65486b86496c975a7de88bada9bcf74add529bcce19d08f2de533448c2658752e6436407218568834699b" +
        "5284b65f91c371a3db82b4e891c4a6a4d862b9f818c68525de503cec2a4e97255c3b40720f5082275b8d4274a65688ba" +
        "6a9cd07dafec8cbfd89bd366b0e115c2a42bd78234f21b4aa0205a743368294a7c305a8c36699b497bad6193c770a2d8" +
        "83b5dd96ca8aa5d943b9c510cf6c2fd64140c61852c232651d47791a588a33689a477aac5486b86597ce7aacd38bbdce" +
        "a4db70b1ed21c2c128e0663bdb234e89265e743c6e314d7f2c64964274a65284b66597c96ea0d384b6d196c883a8df54" +
        "c1a31bcf5030e91e44d1215987376b42497b22588a336a9c4a7cae6092c46b9dd586b8f387b9f6a4dd42aeea11c89223" +
        "de3336f41651762f631540721a56882d64964375a75688ba6799cc76a8e292c4cf9dcf87a0d646c4b434d84d32e22d3c" +
        "a1286075386a0f497b2c61933c6ea04f81b36698ca71a3d588baf49bcd8aa6d812b0e70abbee16d94246b61b5c9d2e65" +
        "0745771954863163954173a55082b46395c776a8da86b8ed95c7e5a4d61eb4ea11c4d028d55137a02959373b6e064a7c"
    static let bilinear =
        "72a4d683b5e790c2c09ed06bb1dc3cc4aa28d65b3aea1c4e9e2a5c83376922497b3163954375a74375a75d8fc175a7d9" +
        "8dbfb395c7a2aadc41bad723c9962dd73141c82b549333655642742c56883163954375a75a8cbe5f91c37dafd390c2bc" +
        "a0ce57b7cf31c5af29d35d3ac7414a842f5e393e703051833261933c6ea05385b75e90c274a6d87eb0d89cce88a4d45a" +
        "c2a627d16235e0304ba8265875366727497b2a5c8e3a6c9e487aac5c8ec06d9fd07fb1da8ec0c59fce84b5db21c6a62a" +
        "df2a43d829528632645244762854863365974476a85486b86597c978aad48abcba9cce77aadb35bbb428d17635d73244" +
        "c3295b5f396b1e4c7e2d5f913d6fa14f81b36193c572a4d284b6c397c99ea9d367babf37c6a82acd4b3cd3274f7d2d5f" +
        "3f46782657893567994a7cae5d8fc16b9dcf7aacd48dbfbea1d34eb1dd42c4b82fd16a35dd3443922e5a4a3e7030497b" +
        "3163954173a55486b86395c775a7d688bacd9acc77accc38bcc222ce8d32d83e448e2d577332643e4173235587346698" +
        "5385b76092c472a4d682b4d892c4a1a4d265b9e326c7882bd5553cdd354e8f2b5d4240721f4f812c5d8f4274a65587b9" +
        "6c9ed07dafde8dbfc89cce6cb1d124c1a02fd37f37e3284b9c295b763769344a7c335b8d386a9c4a7cae6092c46fa1d3" +
        "85b7cf97c98aa6d04bb9bc1fcc7130cf4842bf2552b4336530477926588a36689a4779ab5486b86597c97aacca8abcc7" +
        "a5d76cb1de2ec2b72ed76a3bd12f4d8f2c5d733d6f3f4d7f3264964173a55284b66597c96fa1d183b5c595c786a6d85e" +
        "c19825ce5432de2d45c82a5888386a49487a2d588a37699b4a7cae5f91c36c9ed084b6e788bae1a2d452aedb20c5942a" +
        "d6363ae122517631632641732755873264964375a75688ba689acc77a9d790c2c39cce88a2d148c2ae37d05434d8363c" +
        "9a2e6074386a1e4a7c2e60923d6fa14f81b36496c871a3d588bae899cb89a6d81fb0e214bcd821d14c46b227599d3163" +
        "1345772052843062943f71a34f81b36193c575a7d984b6e894c6daa3d531b3e517c2cd26ce5f379f3057423a6c16487a"
    static let up48Rows20to24 =
        "2a5c8e4274a63466984e80b24274a65587b95587b95d8fc16597c96496c874a6d86c9ed081b3e577a9db8cbef085b7ff" +
        "94c64794c6a59bcdaaa4d60da4d506b7eb19abe90fc5f727b7fe1ace2c32c6d52ad46f39de0b3ae21c3fea174bef1145" +
        "ff2a5be51d4f2235671d4f81104476245688215486295c8e3466983163954476a8386a9c5284b64476a85b8dbf5688ba" +
        "3a6c9e36689a487aac4375a75486b85284b66092c46395c7699bcd74a6d872a4d684b6ea7eb0f392c4f68cbeff9dcf61" +
        "9bcd04a7d827ade82bb0ef0ebdf622bccd20cc3530c8fa2cda4c3ed6053ae53d49f62c4a721c5381255ad82b5d2a396b" +
        "4b3365ff295b124375093e701c4e801b4d7f26588a2c5e903062943c6ea03a6c9e4b7daf4779ab588abc5486b86597c9" +
        "4b7daf4173a55e90c25082b46b9dcf6496c86092c4699bcd71a3d578aadc84b6f085b7e694c63593c5ffa3d56fa3d509" +
        "afe110b6f514be911cc7792cc3ff27bcd620d7073bc9ff2de7204bdb0940ff1c56ff1e54672d5f193668403769094a7c" +
        "0b3d6f5235671f4f81114375295b8d245688336597386a9c3b6d9f4c7eb04678aa6193c55385b770a2d46597c96395c7" +
        "6092c45385b75a8cbe6597c96b9dcf78aadc6fa1d37dafe188baf480b2fc8abcdc94c6539acc92a5d77cabdd0bb5e713" +
        "beef23b6ff1ac16d25cf4b33c6f32ad35937d90e3de48548ea244ff80f4282285acc285a843466003e70034072225385" +
        "14487a014173285b8d20528437699b3466984375a7497bad4f81b36294c65789bb5e90c2699bcd6fa1d37caee071a3d5"

    func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Planar [0, 1] output (mean 0, std 1) converted back to interleaved 0–255 rows `rows` of a `size`-wide image.
    func interleaved(_ planar: [Float], size: Int, rows: Range<Int>) -> [Float] {
        var out: [Float] = []
        for y in rows { for x in 0..<size { for c in 0..<3 { out.append(planar[c * size * size + y * size + x] * 255) } } }
        return out
    }

    func assertClose(_ ours: [Float], _ reference: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, reference.count, file: file, line: line)
        let diffs = zip(ours, reference).map { abs($0 - Float($1)) }
        let worst = diffs.max() ?? 0, mean = diffs.reduce(0, +) / Float(max(1, diffs.count))
        XCTAssertLessThanOrEqual(worst, 1.001, "max difference", file: file, line: line)
        XCTAssertLessThan(mean, 0.02, "mean difference", file: file, line: line)
    }

    func testEvalResizeAndCentreCropMatchPillow() {
        var rng = SplitMix64(seed: 0)
        let out = ImageTransform(mode: .eval, size: 16, mean: [0, 0, 0], std: [1, 1, 1]).apply(image, rng: &rng)
        assertClose(interleaved(out, size: 16, rows: 0..<16), bytes(Self.eval16))
        let up = ImageTransform(mode: .eval, size: 48, mean: [0, 0, 0], std: [1, 1, 1]).apply(image, rng: &rng)
        assertClose(interleaved(up, size: 48, rows: 20..<24), bytes(Self.up48Rows20to24))
    }

    func testCropBoxResizeMatchesPillow() {
        for (filter, reference) in [(ResampleFilter.bicubic, Self.bicubic), (.bilinear, Self.bilinear)] {
            var out = [Float](repeating: 0, count: 3 * 16 * 16)
            out.withUnsafeMutableBufferPointer { buffer in
                Resampler.resampleNormalised(image, region: (5, 3, 40, 35), scaledWidth: 16, scaledHeight: 16, cropX: 0, cropY: 0,
                                             outputSize: 16, filter: filter, mean: (0, 0, 0), std: (1, 1, 1), into: buffer.baseAddress!)
            }
            assertClose(interleaved(out, size: 16, rows: 0..<16), bytes(reference))
        }
    }
}
