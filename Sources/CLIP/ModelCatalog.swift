import Foundation

/// Finds model configs by name in the repository's `cluster-configs/models/` folder (or a path given directly).
public enum ModelCatalog {
    /// Folders searched for `NAME.json`, in order: `$SWIFTCLIP_MODELS`, `./cluster-configs/models`, and the
    /// folder next to the executable's repository checkout.
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

    /// The config for `nameOrPath`: a JSON file path, or a model name such as `clip-tiny` or `ViT-B-32`.
    public static func config(_ nameOrPath: String) throws -> CLIPConfig {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") { return try CLIPConfig.load(nameOrPath) }
        for folder in searchPaths {
            let path = "\(folder)/\(nameOrPath).json"
            if FileManager.default.fileExists(atPath: path) { return try CLIPConfig.load(path) }
        }
        let known = Set(searchPaths.flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] }
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }).sorted()
        throw ConfigError("unknown model \(nameOrPath) (known: \(known.joined(separator: ", ")))")
    }
}
