import Foundation

/// A JSON value as `JSONReader` reads it: what the providers' replies are read through.
indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in the order received; a key given twice is read as its last value.
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.map(\.key) == y.map(\.key) && x.map(\.value) == y.map(\.value)
        default: false
        }
    }

    /// An object's member; nil when there is none, or this is no object.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }
}

/// The wire formats' fields as Swift values, the way `Decodable` reads them: a field absent or
/// `null` is nil, a field of another type is an error (`JSONReader.Mismatch`).
extension JSONValue {
    func string(_ key: String) throws -> String? {
        switch self[key] {
        case nil, .null?: nil
        case .string(let text)?: text
        default: throw JSONReader.Mismatch(key: key, expected: "a string")
        }
    }

    func int(_ key: String) throws -> Int? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let number)? where number == number.rounded() && abs(number) < 9e15: return Int(number)
        default: throw JSONReader.Mismatch(key: key, expected: "a whole number")
        }
    }

    func double(_ key: String) throws -> Double? {
        switch self[key] {
        case nil, .null?: nil
        case .number(let number)?: number
        default: throw JSONReader.Mismatch(key: key, expected: "a number")
        }
    }

    func object(_ key: String) throws -> JSONValue? {
        switch self[key] {
        case nil, .null?: nil
        case let value? where value.isObject: value
        default: throw JSONReader.Mismatch(key: key, expected: "an object")
        }
    }

    func array(_ key: String) throws -> [JSONValue]? {
        switch self[key] {
        case nil, .null?: nil
        case .array(let elements)?: elements
        default: throw JSONReader.Mismatch(key: key, expected: "an array")
        }
    }

    var isObject: Bool {
        if case .object = self { true } else { false }
    }
}

/// Reads JSON as RFC 8259 writes it, but for one leniency: text that cannot be decoded (bytes
/// that are not UTF-8, a `\uD800` with no partner) is read as U+FFFD, and counted, rather than
/// making the whole reply unreadable. The bytes themselves are kept elsewhere (the raw body).
struct JSONReader {
    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "not JSON at byte \(offset): \(reason)" }
    }

    struct Mismatch: Error, CustomStringConvertible {
        let key: String
        let expected: String
        var description: String { "\(key) is not \(expected)" }
    }

    /// How many characters of the strings read were replaced by U+FFFD.
    private(set) var replacements = 0

    /// The value `bytes` holds, and how many characters of its strings were replaced.
    static func read(_ bytes: Data) throws -> (value: JSONValue, replacements: Int) {
        var reader = JSONReader()
        let value = try bytes.withUnsafeBytes { raw in
            try reader.document(raw.bindMemory(to: UInt8.self))
        }
        return (value, reader.replacements)
    }

    private mutating func document(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var index = 0
        let value = try self.value(bytes, &index, depth: 0)
        skipSpace(bytes, &index)
        guard index == bytes.count else { throw Malformed(offset: index, reason: "text after the value") }
        return value
    }

    private func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D
                || bytes[index] == 0x09
        {
            index += 1
        }
    }

    private mutating func value(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int, depth: Int) throws
        -> JSONValue
    {
        guard depth < 512 else { throw Malformed(offset: index, reason: "nested too deep") }
        skipSpace(bytes, &index)
        guard index < bytes.count else { throw Malformed(offset: index, reason: "a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(key: String, value: JSONValue)] = []
            skipSpace(bytes, &index)
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace(bytes, &index)
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw Malformed(offset: index, reason: "a key was expected")
                }
                let key = try string(bytes, &index)
                skipSpace(bytes, &index)
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw Malformed(offset: index, reason: "':' was expected")
                }
                index += 1
                members.append((key, try value(bytes, &index, depth: depth + 1)))
                skipSpace(bytes, &index)
                guard index < bytes.count else { throw Malformed(offset: index, reason: "the object is not closed") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                } else {
                    throw Malformed(offset: index, reason: "',' or '}' was expected")
                }
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [JSONValue] = []
            skipSpace(bytes, &index)
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                elements.append(try value(bytes, &index, depth: depth + 1))
                skipSpace(bytes, &index)
                guard index < bytes.count else { throw Malformed(offset: index, reason: "the array is not closed") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                } else {
                    throw Malformed(offset: index, reason: "',' or ']' was expected")
                }
            }
        case UInt8(ascii: "\""):
            return .string(try string(bytes, &index))
        case UInt8(ascii: "t"):
            try literal("true", bytes, &index)
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false", bytes, &index)
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null", bytes, &index)
            return .null
        default:
            return .number(try number(bytes, &index))
        }
    }

    private func literal(_ word: StaticString, _ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws {
        let matched = word.withUTF8Buffer { expected in
            index + expected.count <= bytes.count
                && expected.indices.allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matched else { throw Malformed(offset: index, reason: "an unknown word") }
        index += word.utf8CodeUnitCount
    }

    private func number(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws -> Double {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - first
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let whole = digits()
        guard whole > 0, whole == 1 || bytes[index - whole] != UInt8(ascii: "0") else {
            throw Malformed(offset: start, reason: "a value was expected")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw Malformed(offset: index, reason: "digits were expected") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { throw Malformed(offset: index, reason: "digits were expected") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw Malformed(offset: start, reason: "a number out of range") }
        return value
    }

    /// A string whose opening quote is at `index`; `index` ends after its closing quote.
    private mutating func string(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws -> String {
        index += 1
        var start = index
        // The common case: no escape and only ASCII, taken in one piece.
        var plain = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let piece = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return plain ? String(decoding: piece, as: UTF8.self) : decoded(piece)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte >= 0x80 { plain = false }
            index += 1
        }
        // Escapes: the text is rebuilt as UTF-8 bytes, invalid bytes and lone surrogates replaced.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(index - start + 16)
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                utf8.append(contentsOf: bytes[start..<index])
                index += 1
                return decoded(utf8)
            }
            guard byte == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            utf8.append(contentsOf: bytes[start..<index])
            guard index + 1 < bytes.count else { break }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                let first = try hex4(bytes, &index)
                var scalar: Unicode.Scalar?
                if (0xD800...0xDBFF).contains(first), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                {
                    var lookahead = index + 2
                    let second = try hex4(bytes, &lookahead)
                    if (0xDC00...0xDFFF).contains(second) {
                        scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                        index = lookahead
                    }
                } else {
                    scalar = Unicode.Scalar(first)
                }
                if scalar == nil { replacements += 1 }
                utf8.append(contentsOf: String(Character(scalar ?? "\u{FFFD}")).utf8)
            default:
                throw Malformed(offset: index - 1, reason: "an unknown escape")
            }
            start = index
        }
        throw Malformed(offset: index, reason: "the string is not closed")
    }

    private func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw Malformed(offset: index, reason: "four hex digits were expected") }
        guard let value = hexValue(bytes, from: index, digits: 4) else {
            throw Malformed(offset: index, reason: "four hex digits were expected")
        }
        index += 4
        return UInt32(value)
    }

    /// UTF-8 bytes as text, each invalid sequence read as U+FFFD and counted.
    private mutating func decoded(_ utf8: some Collection<UInt8>) -> String {
        if let text = String(validating: utf8, as: UTF8.self) { return text }
        var text = ""
        var decoder = UTF8()
        var iterator = utf8.makeIterator()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): text.unicodeScalars.append(scalar)
            case .emptyInput: break loop
            case .error:
                text.unicodeScalars.append("\u{FFFD}")
                replacements += 1
            }
        }
        return text
    }
}

/// The number `digits` hex digits (either case) at `start` write; nil if one is no hex digit.
func hexValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, digits: Int) -> Int? {
    var value = 0
    for offset in 0..<digits {
        let byte = bytes[start + offset]
        let digit: Int
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
        value = value * 16 + digit
    }
    return value
}
