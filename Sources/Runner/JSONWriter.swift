import Foundation

/// Writes the JSON of a request body: one object of string, number and array fields, written in
/// the order given (the providers give them sorted, as `JSONEncoder`'s `.sortedKeys` did).
/// By hand because `JSONEncoder` cost about 30 µs a call on the conversation it re-encodes every
/// time, a large share of the runner's own work against a fast server (docs/performance.md).
/// Nil fields are left out, as `JSONEncoder` leaves out nil optionals.
struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    mutating func field(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key)
        Self.quote(value, into: &bytes)
    }

    mutating func field(_ key: String, _ value: Int?) {
        guard let value else { return }
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Non-finite numbers have no JSON form; they are written as null.
    mutating func field(_ key: String, _ value: Double?) {
        guard let value else { return }
        self.key(key)
        bytes.append(contentsOf: (value.isFinite ? value.description : "null").utf8)
    }

    mutating func field(_ key: String, _ values: [String]?) {
        guard let values else { return }
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.quote(value, into: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An array of `{"content": ..., "role": ...}` objects.
    mutating func field(_ key: String, messages: [WireMessage]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, message) in messages.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: #"{"content":"#.utf8)
            Self.quote(message.content, into: &bytes)
            bytes.append(contentsOf: #","role":"#.utf8)
            Self.quote(message.role, into: &bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The finished object.
    func data() -> Data { Data(bytes + [UInt8(ascii: "}")]) }

    private mutating func key(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        Self.quote(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped, the rest as UTF-8.
    static func quote(_ text: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied whole.
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0..<0x20: bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                                         hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]])
                default: bytes.append(byte)   // the quote or the backslash itself
                }
                runStart = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
