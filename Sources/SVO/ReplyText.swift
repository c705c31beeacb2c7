import Foundation

/// A model's reply cut into tokens for the answer parser: words, single letters, numbers, CJK
/// runs and punctuation, each knowing whether white space came before it. One pass over the
/// reply's scalars, so parsing stays linear in the reply's length.
struct ReplyText {
    enum Kind: Equatable {
        /// A run of letters (with inner apostrophes: "I'm", "don't"); `lower` is it in lower case;
        /// `language`: it reads as a word of a language (two letters or more, a lower-case one,
        /// and a vowel when it is Latin), which "CADE", "XKQ" and lone letters do not.
        case word(lower: String, original: String, language: Bool)
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
        var word = ""
        var cjk = ""
        var number = 0, numberLength = 0
        var space = false

        func flushWord() {
            guard !word.isEmpty else { return }
            let original = word
            let lower = original.lowercased()
            let scalars = original.unicodeScalars
            let ascii = scalars.allSatisfy(\.isASCII)
            let hasLower = scalars.contains { $0.properties.isLowercase }
            let caseless = !scalars.contains { $0.properties.changesWhenCaseMapped }
            let hasVowel = lower.unicodeScalars.contains { "aeiouy".unicodeScalars.contains($0) }
            let language = scalars.count >= 2 && (hasLower || (!ascii && caseless)) && (!ascii || hasVowel)
            tokens.append(Token(kind: .word(lower: lower, original: original, language: language), spaceBefore: space))
            space = false
            word = ""
        }
        func flushCJK() {
            guard !cjk.isEmpty else { return }
            tokens.append(Token(kind: .cjk(cjk), spaceBefore: space))
            space = false
            cjk = ""
        }
        func flushNumber() {
            guard numberLength > 0 else { return }
            tokens.append(Token(kind: .number(numberLength <= 6 ? number : nil, length: numberLength), spaceBefore: space))
            space = false
            number = 0
            numberLength = 0
        }
        func flushAll() {
            flushWord()
            flushCJK()
            flushNumber()
        }

        let scalars = Array(reply.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = Self.normalise(scalars[index])
            index += 1
            guard let scalar else { continue }   // dropped (markdown emphasis)
            if scalar.properties.isAlphabetic && !Self.isCJK(scalar) {
                flushCJK()
                flushNumber()
                word.unicodeScalars.append(scalar)
                continue
            }
            // An apostrophe inside a word ("I'm", "don't") belongs to it.
            if scalar == "'", !word.isEmpty, index < scalars.count,
               let next = Self.normalise(scalars[index]), next.properties.isAlphabetic, !Self.isCJK(next) {
                word.unicodeScalars.append(scalar)
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
            case _ where scalar.properties.isWhitespace:
                space = true
            default:
                tokens.append(Token(kind: .punct(scalar, noise: !Self.commonPunctuation.contains(scalar)), spaceBefore: space))
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
        case 0x2A, 0x5F, 0x60, 0x23: return nil   // * _ ` #
        case 0xFF01...0xFF5E: return Unicode.Scalar(scalar.value - 0xFEE0)   // full-width ASCII
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
    static let commonPunctuation: Set<Unicode.Scalar> = Set(".,:;!?'\"()[]-/&+=%~".unicodeScalars)
}
