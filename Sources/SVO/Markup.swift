/// Markup in a reply (HTML or XML tags, HTML comments, Markdown code fences) is layout, not
/// words: a tag's name and attributes are no option letters ("<h1>", "<b>", `<a href="...">`),
/// while what the tags enclose is read as any text ("<b>C</b>" is C). `stripped` puts a space
/// where each piece of markup stood (method.md §3).
public enum Markup {
    /// One-letter names that are HTML elements: `<a>`, `<b>`, `<i>`... are tags; `<C>` or `<E>`
    /// is text (a letter in angle brackets). Longer names are tags whatever they are (`<h1>`,
    /// `<answer>`, `<think>`).
    static let singleLetterTags: Set<UInt8> = Set("abipqsu".utf8)

    /// `reply` with its markup replaced by spaces; the same string when it holds none.
    public static func stripped(_ reply: String) -> String {
        let bytes = Array(reply.utf8)
        guard bytes.contains(UInt8(ascii: "<")) || bytes.contains(UInt8(ascii: "`")) else { return reply }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if let end = markupEnd(bytes, at: index) {
                out.append(UInt8(ascii: " "))
                index = end
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Where the markup that starts at `start` ends; nil when none starts there.
    static func markupEnd(_ bytes: [UInt8], at start: Int) -> Int? {
        switch bytes[start] {
        case UInt8(ascii: "<"): return comment(bytes, at: start) ?? tag(bytes, at: start)
        case UInt8(ascii: "`"): return fence(bytes, at: start)
        default: return nil
        }
    }

    /// `<!-- ... -->`.
    static func comment(_ bytes: [UInt8], at start: Int) -> Int? {
        guard bytes[start...].starts(with: Array("<!--".utf8)) else { return nil }
        var index = start + 4
        while index + 2 < bytes.count {
            if bytes[index] == UInt8(ascii: "-"), bytes[index + 1] == UInt8(ascii: "-"),
                bytes[index + 2] == UInt8(ascii: ">")
            {
                return index + 3
            }
            index += 1
        }
        return nil
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    /// `<name ...>`, `</name>`, `<name/>`: a name of letters, digits and dashes, then attributes
    /// up to the closing bracket (no bracket inside, at most a thousand bytes).
    static func tag(_ bytes: [UInt8], at start: Int) -> Int? {
        var index = start + 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "/") { index += 1 }
        let nameStart = index
        guard index < bytes.count, isLetter(bytes[index]) else { return nil }
        while index < bytes.count,
            isLetter(bytes[index]) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
                || bytes[index] == UInt8(ascii: "-")
        {
            index += 1
        }
        if index - nameStart == 1, !singleLetterTags.contains(bytes[nameStart] | 0x20) { return nil }
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: ">"): return index + 1
        case UInt8(ascii: "/"):
            return index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: ">") ? index + 2 : nil
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            let limit = min(bytes.count, index + 1_000)
            while index < limit {
                if bytes[index] == UInt8(ascii: ">") { return index + 1 }
                if bytes[index] == UInt8(ascii: "<") { return nil }
                index += 1
            }
            return nil
        default: return nil
        }
    }

    /// A Markdown code fence, "```" with the language named after it ("```python"), to the line's end.
    static func fence(_ bytes: [UInt8], at start: Int) -> Int? {
        guard start + 2 < bytes.count, bytes[start + 1] == UInt8(ascii: "`"), bytes[start + 2] == UInt8(ascii: "`")
        else { return nil }
        var index = start + 3
        while index < bytes.count, bytes[index] == UInt8(ascii: "`") { index += 1 }
        // The info string: one word of letters, digits, `-`, `+`, `#` straight after the backticks.
        var end = index
        while end < bytes.count,
            isLetter(bytes[end]) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end])
                || "-+#".utf8.contains(bytes[end])
        {
            end += 1
        }
        return end == bytes.count || bytes[end] == UInt8(ascii: "\n") || bytes[end] == UInt8(ascii: "\r") ? end : index
    }
}
