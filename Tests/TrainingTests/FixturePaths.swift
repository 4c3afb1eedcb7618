import Foundation

/// Paths of the fixtures copied into the repository under Tests/Fixtures.
enum FixturePaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static let clipTiny = root + "/clip-tiny"
    static let cocaTiny = root + "/coca-tiny"
    static let repository = URL(fileURLWithPath: root).deletingLastPathComponent().deletingLastPathComponent().path
}
