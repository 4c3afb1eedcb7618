import XCTest
@testable import DataPipeline

final class TarAndBraceTests: XCTestCase {
    func testTarWriterRoundTripIncludingLongNames() throws {
        let dir = try makeScratchDirectory(self)
        let longName = String(repeating: "d/", count: 70) + "sample.txt"
        let writer = try TarWriter(path: dir + "/a.tar")
        try writer.add(name: "x.txt", contents: Array("hello".utf8))
        try writer.add(name: longName, contents: [UInt8](repeating: 7, count: 1000))
        try writer.add(name: "empty.txt", contents: [])
        try writer.finish()
        let scan = try TarReader.scan(path: dir + "/a.tar")
        XCTAssertNil(scan.damage)
        XCTAssertEqual(scan.entries.map(\.name), ["x.txt", longName, "empty.txt"])
        XCTAssertEqual(scan.entries.map(\.size), [5, 1000, 0])
        let file = try RandomAccessFile(path: dir + "/a.tar")
        XCTAssertEqual(try file.readBytes(count: 5, at: scan.entries[0].dataOffset), Array("hello".utf8))
    }

    func testPaxPathHeaderAndDirectoriesAreHandled() throws {
        let dir = try makeScratchDirectory(self)
        // Build a pax archive by hand: an 'x' header overriding the path, a directory entry, then the file.
        var bytes: [UInt8] = []
        func header(_ name: String, size: Int, type: Character) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: 512)
            for (i, b) in name.utf8.enumerated() { h[i] = b }
            let sizeField = Array((String(repeating: "0", count: 11 - String(size, radix: 8).count) + String(size, radix: 8)).utf8)
            for (i, b) in sizeField.enumerated() { h[124 + i] = b }
            h[156] = type.asciiValue!
            for (i, b) in "ustar\u{0}00".utf8.enumerated() { h[257 + i] = b }
            for i in 148..<156 { h[i] = 32 }
            let sum = String(h.reduce(0) { $0 + Int($1) }, radix: 8)
            for (i, b) in (String(repeating: "0", count: 6 - sum.count) + sum).utf8.enumerated() { h[148 + i] = b }
            h[154] = 0
            return h
        }
        func pad(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (512 - b.count % 512) % 512) }
        bytes += header("somedir/", size: 0, type: "5")
        let record = "31 path=very/long/pax/name.txt\n"
        XCTAssertEqual(record.utf8.count, 31)
        bytes += header("PaxHeaders/x", size: record.utf8.count, type: "x") + pad(Array(record.utf8))
        bytes += header("truncated-name.txt", size: 3, type: "0") + pad(Array("abc".utf8))
        bytes += [UInt8](repeating: 0, count: 1024)
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/pax.tar"))
        let scan = try TarReader.scan(path: dir + "/pax.tar")
        XCTAssertNil(scan.damage)
        XCTAssertEqual(scan.entries, [TarEntry(name: "very/long/pax/name.txt", dataOffset: 512 * 4, size: 3)])
    }

    func testTruncatedAndCorruptArchivesKeepEarlierEntries() throws {
        let dir = try makeScratchDirectory(self)
        let writer = try TarWriter(path: dir + "/t.tar")
        for i in 0..<4 { try writer.add(name: "f\(i).bin", contents: [UInt8](repeating: UInt8(i), count: 700)) }
        try writer.finish()
        let full = try readWholeFile(dir + "/t.tar")
        try writeWholeFile(dir + "/cut.tar", Array(full.prefix(3 * 1536 + 600)))  // inside entry 3's data
        let cut = try TarReader.scan(path: dir + "/cut.tar")
        XCTAssertEqual(cut.entries.count, 3)
        XCTAssertNotNil(cut.damage)
        var corrupt = full
        corrupt[1536 + 10] ^= 0x55  // second header's name: checksum no longer matches
        try writeWholeFile(dir + "/bad.tar", corrupt)
        let bad = try TarReader.scan(path: dir + "/bad.tar")
        XCTAssertEqual(bad.entries.count, 1)
        XCTAssertTrue(bad.damage?.contains("checksum") ?? false)
        XCTAssertThrowsError(try TarReader.scan(path: dir + "/missing.tar")) { XCTAssertTrue("\($0)".contains("missing.tar")) }
    }

    func testBraceExpansion() throws {
        XCTAssertEqual(try BraceExpansion.expand("train-{000008..000011}.tar"),
                       ["train-000008.tar", "train-000009.tar", "train-000010.tar", "train-000011.tar"])
        XCTAssertEqual(try BraceExpansion.expand("s{8..10}"), ["s8", "s9", "s10"])
        XCTAssertEqual(try BraceExpansion.expand("{a,b}/{1..2}.tar"), ["a/1.tar", "a/2.tar", "b/1.tar", "b/2.tar"])
        XCTAssertEqual(try BraceExpansion.expand("x{a,{b,c}d}"), ["xa", "xbd", "xcd"])
        XCTAssertEqual(try BraceExpansion.expand("plain.tar"), ["plain.tar"])
        XCTAssertEqual(try BraceExpansion.expandSources("a-{0..1}.tar::b.tar"), ["a-0.tar", "a-1.tar", "b.tar"])
        XCTAssertEqual(try BraceExpansion.expand("d{3..1}"), ["d3", "d2", "d1"])
        XCTAssertThrowsError(try BraceExpansion.expand("bad{0..2.tar"))
    }
}
