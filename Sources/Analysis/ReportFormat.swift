import Foundation

/// The output formats of `hvae report`.
public enum ReportFormat: String, CaseIterable, Sendable {
    case table, csv, markdown, latex, json
}

/// How the rows and columns are laid out.
public enum ReportLayout: String, CaseIterable, Sendable {
    /// One row per group.
    case rows
    /// The study's table: models (and goal conditions) as rows, the four values as columns, "mean ± sd".
    case study
}

/// Why a report cannot be laid out as asked.
public struct ReportLayoutError: Error, CustomStringConvertible {
    public let description: String
}

/// Renders reports. Text formats round to two decimals; CSV and JSON keep full precision.
public enum ReportRenderer {
    public static func render(_ report: Report, as format: ReportFormat, layout: ReportLayout = .rows) throws -> String {
        switch layout {
        case .rows: return rows(report, format)
        case .study: return try study(report, format)
        }
    }

    // MARK: Rows layout

    /// Machine-readable columns, in order; CSV uses these names.
    static let machineColumns = ["n", "n_incomplete", "mean_vr", "sd_vr", "ci_low", "ci_high", "mean_angle",
                                 "pooled_angle", "hit_rate", "transitive_share", "mean_inequality_aversion"]

    static func machineValues(_ cell: ReportCell) -> [String] {
        [String(cell.n), String(cell.nIncomplete), exact(cell.meanVR), exact(cell.sdVR), exact(cell.ciLow), exact(cell.ciHigh),
         exact(cell.meanAngle), exact(cell.pooledAngle), exact(cell.hitRate), exact(cell.transitiveShare),
         exact(cell.meanInequalityAversion)]
    }

    /// Human columns: header and the two-decimal text of each cell.
    static func humanColumns(_ report: Report) -> [(header: String, numeric: Bool, text: (ReportCell) -> String)] {
        let percent = Int((report.options.confidence * 100).rounded())
        var columns: [(String, Bool, (ReportCell) -> String)] = report.options.groupBy.enumerated().map { index, dimension in
            (dimension.rawValue.replacingOccurrences(of: "_", with: " "), false, { $0.group[index] })
        }
        columns += [
            ("n", true, { String($0.n) }),
            ("incomplete", true, { String($0.nIncomplete) }),
            ("VR mean ± sd", true, meanSD),
            ("\(percent)% CI", true, interval),
            ("mean θ", true, { fixed($0.meanAngle) }),
            ("pooled θ", true, { fixed($0.pooledAngle) }),
            ("hit rate", true, { fixed($0.hitRate) }),
            ("transitive", true, { fixed($0.transitiveShare) }),
        ]
        if report.cells.contains(where: { $0.meanInequalityAversion != nil }) {
            columns.append(("ineq. aversion", true, { fixed($0.meanInequalityAversion) }))
        }
        return columns
    }

    static func rows(_ report: Report, _ format: ReportFormat) -> String {
        switch format {
        case .json:
            struct Document: Encodable { let filter: ReportFilter; let options: ReportOptions; let cells: [ReportCell] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try! encoder.encode(Document(filter: report.filter, options: report.options, cells: report.cells)),
                          as: UTF8.self) + "\n"
        case .csv:
            return CSV.document(header: report.options.groupBy.map(\.rawValue) + machineColumns,
                                rows: report.cells.map { $0.group + machineValues($0) })
        case .table, .markdown, .latex:
            let columns = humanColumns(report)
            let header = columns.map(\.header)
            let body = report.cells.map { cell in columns.map { $0.text(cell) } }
            let numeric = Set(columns.indices.filter { columns[$0].numeric })
            switch format {
            case .table: return TextTable.render(header: header, rows: body, rightAligned: numeric)
            case .markdown: return Markdown.table(header: header, rows: body, rightAligned: numeric)
            default: return LaTeX.table(header: header, rows: body, rightAligned: numeric)
            }
        }
    }

    // MARK: Study layout

    static func study(_ report: Report, _ format: ReportFormat) throws -> String {
        guard let modelIndex = report.options.groupBy.firstIndex(of: .model),
              let valueIndex = report.options.groupBy.firstIndex(of: .value),
              let goalIndex = report.options.groupBy.firstIndex(of: .goal),
              report.options.groupBy.count == 3
        else { throw ReportLayoutError(description: "--layout study needs --by model,value,goal (the default)") }
        let values = ["altruistic", "prosocial", "individualistic", "competitive"]
        let rowKeys = distinctInOrder(report.cells.map { [$0.group[modelIndex], $0.group[goalIndex]] })
            .map { (model: $0[0], goal: $0[1]) }
        func cell(_ model: String, _ goal: String, _ value: String) -> ReportCell? {
            report.cells.first { $0.group[modelIndex] == model && $0.group[goalIndex] == goal && $0.group[valueIndex] == value }
        }
        if format == .json {
            let rows = rowKeys.map { key in
                StudyJSONRow(model: key.model, goal: key.goal, cells: values.map { ($0, cell(key.model, key.goal, $0)) })
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try! encoder.encode(rows), as: UTF8.self) + "\n"
        }
        if format == .csv {
            let header = ["model", "goal"] + values.flatMap { ["\($0)_mean_vr", "\($0)_sd_vr", "\($0)_n"] }
            let rows = rowKeys.map { key in
                [key.model, key.goal] + values.flatMap { value -> [String] in
                    let c = cell(key.model, key.goal, value)
                    return [exact(c?.meanVR), exact(c?.sdVR), c.map { String($0.n) } ?? ""]
                }
            }
            return CSV.document(header: header, rows: rows)
        }
        let header = ["model", "goal"] + values
        let rows = rowKeys.map { key in
            [key.model, key.goal] + values.map { value in cell(key.model, key.goal, value).map(meanSD) ?? "" }
        }
        let numeric: Set<Int> = [2, 3, 4, 5]
        switch format {
        case .markdown: return Markdown.table(header: header, rows: rows, rightAligned: numeric)
        case .latex: return LaTeX.table(header: header, rows: rows, rightAligned: numeric)
        default: return TextTable.render(header: header, rows: rows, rightAligned: numeric)
        }
    }

    // MARK: Position bias

    /// VR per model and option order, with the spread between orders: how much of a result is the
    /// order of the options. Nil unless the report's trials used several option orders.
    public static func positionBias(_ byOrder: Report, as format: ReportFormat) -> String? {
        guard byOrder.options.groupBy == [.model, .optionOrder] else { return nil }
        let orders = distinctInOrder(byOrder.cells.map { $0.group[1] })
        guard orders.count > 1 else { return nil }
        let models = distinctInOrder(byOrder.cells.map { $0.group[0] })
        let header = ["model"] + orders.map { "VR \($0)" } + ["spread"]
        let rows = models.map { model -> [String] in
            let means = orders.map { order in byOrder.cells.first { $0.group == [model, order] }?.meanVR }
            let present = means.compactMap { $0 }
            let spread = present.count > 1 ? present.max()! - present.min()! : nil
            return [model] + means.map(fixed) + [fixed(spread)]
        }
        let numeric = Set(1..<header.count)
        switch format {
        case .markdown: return Markdown.table(header: header, rows: rows, rightAligned: numeric)
        case .latex: return LaTeX.table(header: header, rows: rows, rightAligned: numeric)
        case .table: return TextTable.render(header: header, rows: rows, rightAligned: numeric)
        case .csv, .json: return nil
        }
    }

    // MARK: Numbers

    static func fixed(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "" }

    /// Full precision (shortest text that reads back as the same Double).
    static func exact(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }

    static func meanSD(_ cell: ReportCell) -> String {
        guard let mean = cell.meanVR else { return "–" }
        return String(format: "%.2f ± %.2f", mean, cell.sdVR ?? 0)
    }

    static func interval(_ cell: ReportCell) -> String {
        guard let low = cell.ciLow, let high = cell.ciHigh else { return "" }
        return String(format: "[%.2f, %.2f]", low, high)
    }
}

/// One row of the study layout in JSON: the CSV's columns, with numbers as numbers and a missing
/// value (no complete trial, or a single one for the spread) as null.
struct StudyJSONRow: Encodable {
    let model: String
    let goal: String
    let cells: [(value: String, cell: ReportCell?)]

    struct Key: CodingKey {
        let stringValue: String
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.init(stringValue) }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(model, forKey: Key("model"))
        try container.encode(goal, forKey: Key("goal"))
        for (value, cell) in cells {
            // Encoded as optionals: nil is written as null, not left out.
            try container.encode(cell?.meanVR, forKey: Key("\(value)_mean_vr"))
            try container.encode(cell?.sdVR, forKey: Key("\(value)_sd_vr"))
            try container.encode(cell?.n, forKey: Key("\(value)_n"))
        }
    }
}

/// Distinct values in first-seen order (models as they first appear, for instance).
func distinctInOrder<T: Hashable>(_ values: [T]) -> [T] {
    var seen: Set<T> = []
    return values.filter { seen.insert($0).inserted }
}

/// Aligned plain-text tables for terminals.
public enum TextTable {
    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            var text = cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return rightAligned.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

/// GitHub-flavoured Markdown tables.
enum Markdown {
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
        func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| " + header.map(escape).joined(separator: " | ") + " |",
                     "|" + header.indices.map { rightAligned.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|"]
        lines += rows.map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// LaTeX tables with booktabs rules, ready to \input.
enum LaTeX {
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
        let spec = header.indices.map { rightAligned.contains($0) ? "r" : "l" }.joined()
        var lines = ["% Generated by hvae; needs \\usepackage{booktabs}.",
                     "\\begin{tabular}{\(spec)}", "\\toprule",
                     header.map(escape).joined(separator: " & ") + " \\\\", "\\midrule"]
        lines += rows.map { $0.map(escape).joined(separator: " & ") + " \\\\" }
        lines += ["\\bottomrule", "\\end{tabular}"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Escapes LaTeX's special characters, and writes ±, θ and – as math or text commands.
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
            case "–": out += "--"
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
