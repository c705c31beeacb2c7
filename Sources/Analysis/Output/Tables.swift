import Foundation

/// A table for people: a header, rows of text and which columns hold numbers, rendered as a
/// terminal table, Markdown or LaTeX. Notes follow the table (a footnote, a key).
public struct HumanTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]
    /// Columns aligned right (numbers).
    public var numeric: Set<Int>
    public var notes: [String] = []

    public init(header: [String], rows: [[String]], numeric: Set<Int>, notes: [String] = []) {
        self.header = header
        self.rows = rows
        self.numeric = numeric
        self.notes = notes
    }

    /// The table as `format` (table, markdown or latex; the others are not for people).
    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .markdown: Markdown.table(self)
        case .latex: LaTeX.table(self)
        case .html: HTML.table(self)
        default: TextTable.render(self)
        }
    }
}

/// How many terminal columns text takes: two for CJK ideographs, Hangul, kana, full-width forms
/// and emoji; none for combining marks; one for the rest. Tables are padded by it, so that a model
/// named in Chinese or with an emoji keeps its columns aligned.
public enum DisplayWidth {
    public static func of(_ text: String) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if character.unicodeScalars.contains(where: { $0.properties.isEmojiPresentation }) { return 2 }
        if first.properties.generalCategory == .nonspacingMark || first.properties.generalCategory == .enclosingMark {
            return 0
        }
        switch first.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}

/// Aligned plain-text tables for terminals.
public enum TextTable {
    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        render(HumanTable(header: header, rows: rows, numeric: rightAligned))
    }

    public static func render(_ table: HumanTable) -> String {
        let widths = table.header.indices.map { column in
            ([table.header] + table.rows).map { DisplayWidth.of($0[column]) }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            var text = cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - DisplayWidth.of(cell))
                return table.numeric.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(table.header), rule] + table.rows.map(line) + table.notes).joined(separator: "\n") + "\n"
    }
}

/// GitHub-flavoured Markdown tables.
enum Markdown {
    static func table(_ table: HumanTable) -> String {
        func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = [
            "| " + table.header.map(escape).joined(separator: " | ") + " |",
            "|" + table.header.indices.map { table.numeric.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|",
        ]
        lines += table.rows.map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
        if !table.notes.isEmpty { lines += [""] + table.notes }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// HTML text built from untrusted data (model names, replies): every piece of data goes through
/// `escape`, so that a model's reply holding `<script>` shows as text.
public enum HTML {
    /// `text` with the characters HTML treats specially replaced by entities: safe in element
    /// content and in quoted attribute values. U+0000, which HTML parsers drop or replace, is
    /// shown as U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A `<table>` with numbers right-aligned (class `num`), the notes after it as paragraphs.
    static func table(_ table: HumanTable) -> String {
        func cells(_ row: [String], tag: String) -> String {
            row.enumerated().map { index, text in
                "<\(tag)\(table.numeric.contains(index) ? " class=\"num\"" : "")>\(escape(text))</\(tag)>"
            }.joined()
        }
        var html = "<table>\n<thead><tr>\(cells(table.header, tag: "th"))</tr></thead>\n<tbody>\n"
        for row in table.rows { html += "<tr>\(cells(row, tag: "td"))</tr>\n" }
        html += "</tbody>\n</table>\n"
        for note in table.notes { html += "<p class=\"note\">\(escape(note))</p>\n" }
        return html
    }
}

/// LaTeX tables with booktabs rules, ready to \input, that fit the text width: set small with
/// narrow column gaps, and shrunk to \linewidth when they are still wider (never enlarged).
enum LaTeX {
    static func table(_ table: HumanTable) -> String {
        let spec = table.header.indices.map { table.numeric.contains($0) ? "r" : "l" }.joined()
        var lines = [
            "% Generated by hvae; needs \\usepackage{booktabs} and \\usepackage{graphicx}.",
            "{\\small\\setlength{\\tabcolsep}{4pt}%",
            // A paragraph of its own, unindented: the indent would push a full-width table over.
            "\\par\\noindent\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%",
            "\\begin{tabular}{\(spec)}", "\\toprule",
            table.header.map(escape).joined(separator: " & ") + " \\\\", "\\midrule",
        ]
        lines += table.rows.map { $0.map(escape).joined(separator: " & ") + " \\\\" }
        lines += ["\\bottomrule", "\\end{tabular}}"]
        // Notes below the table, as a paragraph of their own: in the tabular they would widen it.
        for note in table.notes { lines.append("\\par\\smallskip{\\footnotesize \(escape(note))\\par}") }
        lines += ["\\par}"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Escapes LaTeX's special characters, and writes ±, θ, φ, Δ, ², −, →, |, – and † as math or text
    /// commands (pdflatex's default fonts have none of them as text).
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\textbackslash{}"
            case "&", "%", "$", "#", "_", "{", "}": out += "\\\(character)"
            case "~": out += "\\textasciitilde{}"
            case "^": out += "\\textasciicircum{}"
            case "±": out += "$\\pm$"
            case "θ": out += "$\\theta$"
            case "Δ": out += "$\\Delta$"
            case "φ": out += "$\\varphi$"
            case "²": out += "$^2$"
            case "−": out += "$-$"
            case "→": out += "$\\to$"
            case "|": out += "$|$"
            case "–": out += "--"
            case "†": out += "$^\\dagger$"
            default: out.append(character)
            }
        }
        return out
    }
}

/// RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled, CRLF line ends.
public enum CSV {
    public static func field(_ text: String) -> String {
        // Scalars, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard text.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func record(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\r\n" }

    public static func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map(record).joined()
    }
}

/// Distinct values in first-seen order (models as they first appear, for instance).
func distinctInOrder<T: Hashable>(_ values: [T]) -> [T] {
    var seen: Set<T> = []
    return values.filter { seen.insert($0).inserted }
}

/// JSON for reports: pretty, keys sorted.
func prettyJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    // Encoding plain values cannot fail.
    return String(decoding: try! encoder.encode(value), as: UTF8.self) + "\n"
}
