import Foundation

/// A model's reply cut into tokens for the answer parser: words, single letters, numbers, CJK
/// runs and punctuation, each knowing whether white space came before it. One pass over the
/// reply's scalars, so parsing stays linear in the reply's length.
struct ReplyText {
    enum Kind: Equatable {
        /// A run of letters (with inner apostrophes: "I'm", "don't"); `lower` is it in lower case;
        /// `language`: it reads as a word of a language (two letters or more, a lower-case one,
        /// and a vowel when it is Latin), which "CADE", "XKQ" and lone letters do not; `length`:
        /// its scalars.
        case word(lower: String, original: String, language: Bool, length: Int)
        /// A run of CJK ideographs (Chinese replies).
        case cjk(String)
        /// A run of ASCII digits (`length` of them); the value is nil when too long to be a coin amount.
        case number(Int?, length: Int)
        /// One punctuation or symbol scalar, normalised (full-width forms to ASCII); `noise`: not
        /// punctuation that ordinary text uses (a symbol, a control character, the replacement
        /// character of an undecodable byte).
        case punct(Unicode.Scalar, noise: Bool)
        case newline
    }

    struct Token: Equatable {
        var kind: Kind
        /// White space (not a line break) came right before it.
        var spaceBefore: Bool
    }

    private(set) var tokens: [Token] = []

    init(_ reply: String) {
        // The word being read, as UTF-8 bytes: appending bytes costs far less than appending
        // scalars to a String, once per letter of a long reply.
        var word: [UInt8] = []
        var lowerWord: [UInt8] = []  // the same, with ASCII letters lowered
        var cjk = ""
        var number = 0
        var numberLength = 0
        var space = false

        func flushWord() {
            guard !word.isEmpty else { return }
            let original = String(decoding: word, as: UTF8.self)
            let scalars = original.unicodeScalars
            var ascii = true
            var hasLower = false
            var hasVowel = false
            var caseless = true
            var length = 0
            for scalar in scalars {
                length += 1
                if scalar.isASCII {
                    // Most replies are ASCII: decided here without Unicode's property tables.
                    let value = scalar.value
                    if (0x61...0x7A).contains(value) { hasLower = true }
                    if (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) { caseless = false }
                    switch value | 0x20 {
                    case 0x61, 0x65, 0x69, 0x6F, 0x75, 0x79: hasVowel = true  // a e i o u y
                    default: break
                    }
                } else {
                    ascii = false
                    if scalar.properties.isLowercase { hasLower = true }
                    if scalar.properties.changesWhenCaseMapped { caseless = false }
                }
            }
            let lower = ascii ? String(decoding: lowerWord, as: UTF8.self) : original.lowercased()
            if !ascii { hasVowel = lower.unicodeScalars.contains { "aeiouy".unicodeScalars.contains($0) } }
            let language = length >= 2 && (hasLower || (!ascii && caseless)) && (!ascii || hasVowel)
            tokens.append(
                Token(
                    kind: .word(lower: lower, original: original, language: language, length: length),
                    spaceBefore: space))
            space = false
            word.removeAll(keepingCapacity: true)
            lowerWord.removeAll(keepingCapacity: true)
        }
        func flushCJK() {
            guard !cjk.isEmpty else { return }
            tokens.append(Token(kind: .cjk(cjk), spaceBefore: space))
            space = false
            cjk = ""
        }
        func flushNumber() {
            guard numberLength > 0 else { return }
            tokens.append(
                Token(kind: .number(numberLength <= 6 ? number : nil, length: numberLength), spaceBefore: space))
            space = false
            number = 0
            numberLength = 0
        }
        func flushAll() {
            flushWord()
            flushCJK()
            flushNumber()
        }

        // About one token per four bytes of prose: reserved once rather than grown by copying.
        tokens.reserveCapacity(reply.utf8.count / 4 + 4)
        // Scalars one at a time, with the next one in view (for "don't"): no array of them.
        var remaining = reply.unicodeScalars.makeIterator()
        var following = remaining.next()
        while let current = following {
            following = remaining.next()
            guard let scalar = Self.normalise(current) else { continue }  // dropped (markdown emphasis)
            if Self.isLetter(scalar) {
                flushCJK()
                flushNumber()
                Self.append(scalar, to: &word, lower: &lowerWord)
                continue
            }
            // An apostrophe inside a word ("I'm", "don't") belongs to it.
            if scalar == "'", !word.isEmpty, let after = following, let next = Self.normalise(after),
                Self.isLetter(next)
            {
                word.append(UInt8(ascii: "'"))
                lowerWord.append(UInt8(ascii: "'"))
                continue
            }
            if Self.isCJK(scalar) {
                flushWord()
                flushNumber()
                cjk.unicodeScalars.append(scalar)
                continue
            }
            if ("0"..."9").contains(scalar) {
                let digit = Int(scalar.value) - 0x30
                flushWord()
                flushCJK()
                if numberLength <= 6 { number = number * 10 + digit }
                numberLength += 1
                continue
            }
            flushAll()
            switch scalar {
            case "\n", "\r", "\u{2028}", "\u{2029}", "\u{0085}":
                if tokens.last?.kind != .newline { tokens.append(Token(kind: .newline, spaceBefore: false)) }
                space = false
            case _
            where scalar.isASCII
                ? (scalar == " " || scalar == "\t" || scalar == "\u{0B}" || scalar == "\u{0C}")
                : scalar.properties.isWhitespace:
                space = true
            default:
                tokens.append(Token(kind: .punct(scalar, noise: !Self.isCommonPunctuation(scalar)), spaceBefore: space))
                space = false
            }
        }
        flushAll()
    }

    /// Full-width forms and CJK punctuation as their ASCII counterparts, typographic quotes and
    /// dashes as plain ones; nil for markdown emphasis, which models sprinkle around letters.
    /// Written out rather than through Unicode normalisation, whose tables differ between
    /// platforms and releases: a parse must not change with the machine.
    static func normalise(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        switch scalar.value {
        case 0x2A, 0x5F, 0x60, 0x23: return nil  // * _ ` #
        case 0xFF01...0xFF5E: return Unicode.Scalar(scalar.value - 0xFEE0)  // full-width ASCII
        case 0x3000, 0x00A0, 0x2002...0x200A, 0x202F: return " "
        case 0x3001: return ","
        case 0x3002: return "."
        case 0x201C, 0x201D, 0x300C, 0x300D, 0x300E, 0x300F: return "\""
        case 0x2018, 0x2019: return "'"
        case 0x3010: return "["
        case 0x3011: return "]"
        case 0x2013, 0x2014, 0x2212: return "-"
        default: return scalar
        }
    }

    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F: true
        default: false
        }
    }

    /// Punctuation that ordinary text uses; anything else (symbols, control characters) is noise.
    /// Punctuation that ordinary text uses: . , : ; ! ? ' " ( ) [ ] - / & + = % ~
    static func isCommonPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case ".", ",", ":", ";", "!", "?", "'", "\"", "(", ")", "[", "]", "-", "/", "&", "+", "=", "%", "~": true
        default: false
        }
    }

    /// A letter of a word (not a CJK ideograph): ASCII letters without Unicode's property tables,
    /// which were a third of a long reply's parse.
    @inline(__always)
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (0x41...0x5A).contains(scalar.value) || (0x61...0x7A).contains(scalar.value) }
        return scalar.properties.isAlphabetic && !isCJK(scalar)
    }

    /// Appends `scalar`'s UTF-8 bytes to `bytes`, and to `lower` with an ASCII letter lowered.
    @inline(__always)
    static func append(_ scalar: Unicode.Scalar, to bytes: inout [UInt8], lower: inout [UInt8]) {
        if scalar.isASCII {
            let byte = UInt8(scalar.value)
            bytes.append(byte)
            lower.append((0x41...0x5A).contains(byte) ? byte | 0x20 : byte)
        } else {
            let encoded = UTF8.encode(scalar)!
            bytes.append(contentsOf: encoded)
            lower.append(contentsOf: encoded)
        }
    }
}
