import Foundation

/// A JSON document held as a value, so run metadata of any caller-defined shape can travel inside the header.
///
/// Integers keep their exact value (signed 64-bit, or unsigned 64-bit above `Int64.max`, as RNG states need);
/// other numbers are `Double`.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(String.self) {
            // Strings first, so "nan"/"inf" stay text here; typed decoding turns them back into numbers.
            self = .string(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .integer(value): try container.encode(value)
        case let .unsigned(value): try container.encode(value)
        case let .double(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// Converts any `Encodable` value (e.g. the trainer's run-state struct) into a JSON value.
    public init<T: Encodable>(encoding value: T) throws {
        do {
            let data = try JSONValue.encoder().encode(value)
            self = try JSONValue.decoder().decode(JSONValue.self, from: data)
        } catch {
            throw CheckpointError.invalidMetadata(detail: "cannot encode \(T.self) as JSON: \(error)")
        }
    }

    /// Decodes this JSON value as a caller-defined type.
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        do {
            let data = try JSONValue.encoder().encode(self)
            return try JSONValue.decoder().decode(T.self, from: data)
        } catch {
            throw CheckpointError.invalidMetadata(detail: "cannot decode \(T.self) from the stored metadata: \(error)")
        }
    }

    /// Looks up a key of an object value; `nil` for other kinds or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case let .object(fields) = self { return fields[key] }
        return nil
    }

    // Losses and learning rates can be NaN or infinite; plain JSON cannot hold them, so they become strings.
    private static let nonFiniteNames = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFiniteNames.positiveInfinity,
            negativeInfinity: nonFiniteNames.negativeInfinity,
            nan: nonFiniteNames.nan)
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFiniteNames.positiveInfinity,
            negativeInfinity: nonFiniteNames.negativeInfinity,
            nan: nonFiniteNames.nan)
        return decoder
    }
}
