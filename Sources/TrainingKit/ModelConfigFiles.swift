import Foundation

/// Where model configs (`NAME.json`, any family's) are found: `$SWIFTCLIP_MODELS`, `./cluster-configs/models`, and
/// the folder next to the executable's repository checkout.
public enum ModelConfigFiles {
    public static var searchPaths: [String] {
        var paths: [String] = []
        if let env = ProcessInfo.processInfo.environment["SWIFTCLIP_MODELS"] { paths.append(env) }
        paths.append(FileManager.default.currentDirectoryPath + "/cluster-configs/models")
        // The checkout the executable was built in (…/.build/<triple>/release/swiftclip): the nearest ancestor
        // folder that holds cluster-configs/models.
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("cluster-configs/models").path
            if FileManager.default.fileExists(atPath: candidate) { paths.append(candidate); break }
            folder.deleteLastPathComponent()
        }
        return paths
    }

    /// The file for `nameOrPath`: itself when it is a path (`.json` or containing `/`), else `NAME.json` in the first
    /// search folder that has it; an unknown name is an error listing the known ones.
    public static func path(_ nameOrPath: String) throws -> String {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") { return nameOrPath }
        for folder in searchPaths {
            let path = "\(folder)/\(nameOrPath).json"
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        let known = Set(searchPaths.flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] }
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }).sorted()
        throw TrainingError("unknown model \(nameOrPath) (known: \(known.joined(separator: ", ")))")
    }
}
