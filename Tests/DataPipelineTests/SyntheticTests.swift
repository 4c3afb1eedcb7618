import XCTest
@testable import DataPipeline

final class SyntheticTests: XCTestCase {
    func testDeterministicAndSplitsDiffer() {
        let a = SyntheticShapes(seed: 11), b = SyntheticShapes(seed: 11), c = SyntheticShapes(seed: 12)
        XCTAssertEqual(a.sample(.train, index: 5).image, b.sample(.train, index: 5).image)
        XCTAssertEqual(a.sample(.train, index: 5).caption, b.sample(.train, index: 5).caption)
        XCTAssertNotEqual(a.sample(.train, index: 5).image, c.sample(.train, index: 5).image)
        XCTAssertNotEqual(a.sample(.train, index: 5).image, a.sample(.val, index: 5).image)
        XCTAssertEqual(SyntheticShapes.classNames.count, 20)
        XCTAssertEqual(Set(SyntheticShapes.classNames).count, 20)
    }

    func testCaptionsDescribeTheDrawnShape() {
        let data = SyntheticShapes(seed: 3, imageSize: 32, noise: 0)
        for i in 0..<200 {
            let s = data.sample(.train, index: i)
            let colour = SyntheticShapes.colours[s.colour], shape = SyntheticShapes.shapes[s.shape]
            XCTAssertEqual(SyntheticShapes.classNames[s.label], "\(colour.name) \(shape)")
            XCTAssertTrue(s.caption.contains(colour.name) && s.caption.contains(shape), s.caption)
            XCTAssertTrue(s.caption.contains(SyntheticShapes.sizes[s.size].name))
            XCTAssertTrue(s.caption.contains(SyntheticShapes.positions[s.position].phrase))
            // The pixel holding the shape's centre has the shape's colour (every shape covers its centre), and the
            // centre is near the position the caption names.
            let p = SyntheticShapes.positions[s.position]
            XCTAssertEqual(s.centreX, p.x * 32, accuracy: 1.3)
            XCTAssertEqual(s.centreY, p.y * 32, accuracy: 1.3)
            XCTAssertEqual(s.radius, SyntheticShapes.sizes[s.size].diameter * 16, accuracy: 0.09 * 16)
            let o = (Int(s.centreY) * 32 + Int(s.centreX)) * 3
            let rgb = colour.rgb
            XCTAssertEqual(Double(s.image.pixels[o]), Double(rgb.0), accuracy: 21, "\(s.caption)")
            XCTAssertEqual(Double(s.image.pixels[o + 1]), Double(rgb.1), accuracy: 21, "\(s.caption)")
            XCTAssertEqual(Double(s.image.pixels[o + 2]), Double(rgb.2), accuracy: 21, "\(s.caption)")
        }
    }

    func testShapesDifferInCoverage() {
        // Same centre and size, shapes must cover clearly different pixel sets.
        var masks: [[Bool]] = []
        for shape in 0..<4 {
            var mask: [Bool] = []
            for i in 0..<400 {
                let dx = Double(i % 20) / 10 - 1, dy = Double(i / 20) / 10 - 1
                mask.append(SyntheticShapes.inside(shape: shape, dx, dy))
            }
            masks.append(mask)
        }
        for a in 0..<4 { for b in (a + 1)..<4 {
            let differing = zip(masks[a], masks[b]).filter { $0 != $1 }.count
            XCTAssertGreaterThan(differing, 40, "shapes \(a) and \(b)")
        } }
    }

    func testClassesAreBalanced() {
        let data = SyntheticShapes(trainCount: 200)
        var counts = [Int](repeating: 0, count: 20)
        for i in 0..<200 { counts[data.sample(.train, index: i).label] += 1 }
        XCTAssertEqual(Set(counts), [10])
    }

    func testExportsReadBackThroughEverySource() throws {
        let dir = try makeScratchDirectory(self)
        let data = SyntheticShapes(seed: 8, imageSize: 32, trainCount: 25, valCount: 40)
        let shards = try data.writeSynthetic(split: .train, to: dir + "/wds", format: .webDataset(samplesPerShard: 10))
        XCTAssertTrue(shards.hasSuffix("train-{000000..000002}.tar"))
        let wds = try WebDatasetSource(shardSpec: shards)
        XCTAssertEqual(try wds.sampleCount(), 25)
        let first = try wds.load(id: 0)
        XCTAssertEqual(first.caption, data.sample(.train, index: 0).caption)
        XCTAssertEqual(try first.decodedImage(), data.sample(.train, index: 0).image)  // PNG: lossless

        let csvPath = try data.writeSynthetic(split: .train, to: dir + "/csv", format: .csv, encoding: .jpeg(quality: 90))
        let csv = try CSVSource(csvSpec: csvPath)
        XCTAssertEqual(csv.rows.count, 25)
        XCTAssertEqual(csv.rows[7].caption, data.sample(.train, index: 7).caption)
        XCTAssertEqual(try csv.load(id: 7).decodedImage().width, 32)

        let root = try data.writeSynthetic(split: .val, to: dir + "/zs", format: .imageFolder)
        let folder = try ZeroShotFolder(root: root)
        XCTAssertEqual(folder.classNames.sorted(), SyntheticShapes.classNames.sorted())
        XCTAssertEqual(folder.templates, SyntheticShapes.templates)
        XCTAssertEqual(folder.items.count, 40)
        for id in [0, 13, 39] {
            let sample = try folder.load(id: id)
            let original = data.sample(.val, index: Int(URL(fileURLWithPath: folder.items[id].path).deletingPathExtension().lastPathComponent)!)
            XCTAssertEqual(folder.classNames[sample.label], SyntheticShapes.classNames[original.label])
            XCTAssertEqual(try sample.decodedImage(), original.image)
        }
        XCTAssertEqual(folder.prompts(forClass: 0).first, "a \(folder.classNames[0]).")
        let task = data.zeroShotTask()
        XCTAssertEqual(task.chanceAccuracy, 0.05)
        XCTAssertEqual(try task.source.sampleCount(), 40)
        XCTAssertEqual(task.prompts(forClass: 1)[1], "a photo of a red square.")
        XCTAssertEqual(try task.source.load(id: 21).label, 1)
    }

    func testZeroShotFolderWithoutOptionalFilesAndErrors() throws {
        let dir = try makeScratchDirectory(self)
        for cls in ["dog", "cat"] {
            try makeDirectory(dir + "/\(cls)")
            try writeWholeFile(dir + "/\(cls)/1.png", try PNGCodec.encode(gradientImage(width: 8, height: 8)))
        }
        try writeTextFile(dir + "/cat/notes.txt", "ignored")
        let folder = try ZeroShotFolder(root: dir)
        XCTAssertEqual(folder.classNames, ["cat", "dog"])
        XCTAssertEqual(folder.templates, ZeroShotFolder.defaultTemplates)
        XCTAssertEqual(folder.items.map(\.label), [0, 1])
        try writeTextFile(dir + "/classnames.txt", "a cat\n")
        XCTAssertThrowsError(try ZeroShotFolder(root: dir)) { XCTAssertTrue("\($0)".contains("classnames.txt")) }
        try writeTextFile(dir + "/classnames.txt", "a cat\na dog\n")
        try writeTextFile(dir + "/templates.txt", "no placeholder\n")
        XCTAssertThrowsError(try ZeroShotFolder(root: dir)) { XCTAssertTrue("\($0)".contains("templates.txt")) }
        XCTAssertThrowsError(try ZeroShotFolder(root: dir + "/nowhere"))
    }
}
