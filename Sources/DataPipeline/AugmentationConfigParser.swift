import Foundation

extension AugmentationConfig {
    /// Keys `--aug-cfg` accepts (OpenCLIP's names).
    public static let acceptedKeys = ["scale", "ratio", "color_jitter", "color_jitter_prob", "gray_scale_prob", "use_timm"]

    /// Parses OpenCLIP's `--aug-cfg` arguments: `key=value` items such as `scale='(0.5, 1.0)'`, `scale=0.5,1.0`,
    /// `color_jitter=0.4` (brightness, contrast and saturation) or `color_jitter='(0.4, 0.4, 0.4, 0.1)'`,
    /// `color_jitter_prob=0.8`, `gray_scale_prob=0.2`, `use_timm=False`; one string may hold several items separated by
    /// spaces outside brackets, and values may keep their shell quotes. `none` alone asks for evaluation preprocessing.
    /// A bad item throws one line naming it and listing the accepted keys.
    public init(parsing arguments: [String]) throws {
        self.init()
        let items = arguments.flatMap(Self.items)
        if items.contains(where: { $0.lowercased() == "none" }) {
            guard items.count == 1 else { throw Self.problem("none stands alone, got \(items.joined(separator: " "))") }
            evaluationPreprocessing = true
            return
        }
        for item in items {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else { throw Self.problem("'\(item)' is not key=value") }
            let key = String(item[..<equals]), value = Self.unquoted(String(item[item.index(after: equals)...]))
            switch key {
            case "scale":
                scale = try Self.range(value, key: key, upperBound: 1, example: "(0.9, 1.0)")
            case "ratio":
                ratio = try Self.range(value, key: key, upperBound: .infinity, example: "(0.75, 1.3333)")
            case "color_jitter":
                colorJitter = try Self.colorJitter(value)
            case "color_jitter_prob":
                colorJitterProbability = try Self.probability(value, key: key)
            case "gray_scale_prob":
                grayscaleProbability = try Self.probability(value, key: key)
            case "use_timm":
                guard try Self.boolean(value, key: key) == false else {
                    throw Self.problem("use_timm=\(value): timm's transforms are not implemented; drop it for OpenCLIP's own augmentation")
                }
            default:
                throw Self.problem("unknown key '\(key)'")
            }
        }
        if colorJitterProbability != nil && colorJitter == nil { throw Self.problem("color_jitter_prob needs color_jitter") }
    }

    static func problem(_ message: String) -> DataPipelineError {
        .invalidOption("--aug-cfg: \(message) (accepted keys: \(acceptedKeys.joined(separator: ", ")); or none alone)")
    }

    /// Splits at whitespace outside brackets and quotes, so `scale=(0.5, 1.0) gray_scale_prob=0.2` is two items.
    static func items(_ argument: String) -> [String] {
        var items: [String] = [], current = "", depth = 0
        var quote: Character? = nil
        for character in argument {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "(" || character == "[" {
                depth += 1
            } else if character == ")" || character == "]" {
                depth -= 1
            } else if character.isWhitespace && depth <= 0 {
                if !current.isEmpty { items.append(current) }
                current = ""
                continue
            }
            current.append(character)
        }
        if !current.isEmpty { items.append(current) }
        return items
    }

    static func unquoted(_ value: String) -> String {
        guard value.count >= 2, let first = value.first, first == value.last, first == "'" || first == "\"" else { return value }
        return String(value.dropFirst().dropLast())
    }

    /// "0.5", "(0.5, 1.0)", "[0.5,1.0]", "0.5,1.0" → the numbers; nil when something is not a number.
    static func numbers(_ value: String) -> [Double]? {
        var body = Substring(value.trimmingCharacters(in: .whitespaces))
        if let first = body.first, let last = body.last, (first, last) == ("(", ")") || (first, last) == ("[", "]") {
            body = body.dropFirst().dropLast()
        }
        let parts = body.split(whereSeparator: { $0 == "," || $0.isWhitespace })
        let numbers = parts.compactMap { Double($0) }
        return numbers.count == parts.count && !numbers.isEmpty && numbers.allSatisfy(\.isFinite) ? numbers : nil
    }

    static func range(_ value: String, key: String, upperBound: Double, example: String) throws -> ClosedRange<Double> {
        guard let n = numbers(value), n.count == 2, n[0] > 0, n[0] <= n[1], n[1] <= upperBound else {
            let bound = upperBound.isFinite ? " <= \(upperBound)" : ""
            throw problem("\(key)='\(value)' must be two numbers 0 < low <= high\(bound), e.g. \(key)='\(example)'")
        }
        return n[0]...n[1]
    }

    /// One strength for brightness, contrast and saturation (timm's reading of a single number), or three, or four
    /// with the hue, as torchvision's `ColorJitter` arguments.
    static func colorJitter(_ value: String) throws -> ColorJitter {
        guard let n = numbers(value), [1, 3, 4].contains(n.count), n.allSatisfy({ $0 >= 0 }), n.count < 4 || n[3] <= 0.5 else {
            throw problem("color_jitter='\(value)' must be one strength or (brightness, contrast, saturation[, hue]), each >= 0 "
                          + "and hue <= 0.5, e.g. color_jitter='(0.4, 0.4, 0.4, 0.1)'")
        }
        let s = n.count == 1 ? [n[0], n[0], n[0]] : n
        return ColorJitter(brightness: s[0], contrast: s[1], saturation: s[2], hue: s.count == 4 ? s[3] : 0)
    }

    static func probability(_ value: String, key: String) throws -> Double {
        guard let n = numbers(value), n.count == 1, (0...1).contains(n[0]) else {
            throw problem("\(key)='\(value)' must be a probability in [0, 1], e.g. \(key)=0.2")
        }
        return n[0]
    }

    static func boolean(_ value: String, key: String) throws -> Bool {
        switch value.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw problem("\(key)='\(value)' must be True or False")
        }
    }
}
