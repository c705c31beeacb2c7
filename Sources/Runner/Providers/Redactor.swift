import Foundation

/// Takes secrets out of text before it is stored or printed: every API key the run knows (each
/// model's, and those of the usual variables) and anything shaped like a key (`sk-` and 16 or
/// more key characters), since some servers echo a key back, in an error body or a reply.
///
/// A key is found in every form JSON or a URL can give it, character by character: as it is,
/// `\uXXXX`-escaped (`sk\u002dabc…`), backslash-escaped (`\/`), or percent-encoded (`%2D`), in
/// any mix. The whole span is replaced by `[redacted]`.
public struct Redactor: Sendable {
    public static let mark = "[redacted]"
    /// The keys, as bytes, longest first (a key inside another is taken with it).
    let secrets: [[UInt8]]

    /// Redacts `keys` (those shorter than 8 characters are left alone: they would redact ordinary words).
    public init(keys: [String?]) {
        secrets = Array(Set(keys.compactMap { $0 }.filter { $0.utf8.count >= 8 }))
            .sorted { ($0.utf8.count, $0) > ($1.utf8.count, $1) }
            .map { Array($0.utf8) }
    }

    /// The variables whose keys are always redacted, whichever models a run has.
    public static let usualVariables = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]

    /// Redacts `key` and the keys of the usual variables in `environment`.
    init(key: String?, environment: [String: String]) {
        self.init(keys: [key] + Self.usualVariables.map { environment[$0] })
    }

    public func callAsFunction(_ text: String) -> String {
        var utf8 = text
        let redacted = utf8.withUTF8 { redacting($0) }
        return redacted.map { String(decoding: $0, as: UTF8.self) } ?? text
    }

    /// `bytes` with every secret taken out, byte for byte elsewhere.
    public func callAsFunction(_ bytes: Data) -> Data {
        bytes.withUnsafeBytes { raw in
            redacting(raw.bindMemory(to: UInt8.self)).map { Data($0) } ?? bytes
        }
    }

    /// Nil when there is nothing to redact (the common case, found in one pass without copying).
    func redacting(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var out: [UInt8]? = nil
        var index = 0
        var copied = 0
        while index < bytes.count {
            if let end = match(bytes, at: index) {
                if out == nil { out = [] }
                out!.append(contentsOf: bytes[copied..<index])
                out!.append(contentsOf: Self.mark.utf8)
                index = end
                copied = end
            } else {
                index += 1
            }
        }
        guard var out else { return nil }
        out.append(contentsOf: bytes[copied...])
        return out
    }

    /// Where a secret or a key-shaped run that starts at `start` ends.
    private func match(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        let first = bytes[start]
        // Every form of a character starts with itself, a backslash, or a percent sign.
        if first == UInt8(ascii: "\\") || first == UInt8(ascii: "%") || secrets.contains(where: { $0[0] == first }) {
            for secret in secrets {
                if let end = Self.match(secret, in: bytes, at: start) { return end }
            }
        }
        return first == UInt8(ascii: "s") ? Self.keyShape(bytes, at: start) : nil
    }

    /// Where `secret`, each of its characters in any of its encoded forms, ends if it starts at `start`.
    static func match(_ secret: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        var position = start
        for character in secret {
            guard position < bytes.count else { return nil }
            let byte = bytes[position]
            if byte == character {
                position += 1
            } else if byte == UInt8(ascii: "\\"), position + 1 < bytes.count {
                let next = bytes[position + 1]
                if next == UInt8(ascii: "u"), position + 5 < bytes.count,
                    let code = Runner.hexValue(bytes, from: position + 2, digits: 4), code == Int(character)
                {
                    position += 6
                } else if next == character,
                    character == UInt8(ascii: "/") || character == UInt8(ascii: "\\")
                        || character == UInt8(ascii: "\"")
                {
                    position += 2
                } else {
                    return nil
                }
            } else if byte == UInt8(ascii: "%"), position + 2 < bytes.count,
                let code = Runner.hexValue(bytes, from: position + 1, digits: 2), code == Int(character)
            {
                position += 3
            } else {
                return nil
            }
        }
        return position
    }

    /// "sk-" followed by 16 or more of [A-Za-z0-9_-], not inside a longer word.
    private static func keyShape(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        guard start + 19 <= bytes.count, bytes[start + 1] == UInt8(ascii: "k"), bytes[start + 2] == UInt8(ascii: "-"),
            start == 0 || !isKeyCharacter(bytes[start - 1])
        else { return nil }
        var end = start + 3
        while end < bytes.count, isKeyCharacter(bytes[end]) { end += 1 }
        return end - start - 3 >= 16 ? end : nil
    }

    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
