import Foundation

/// The output formats of `hvae report`.
public enum ReportFormat: String, CaseIterable, Sendable {
    case table, csv, markdown, json
}

/// Renders a VR report. Numbers are rounded to two decimals in text formats; JSON keeps full precision.
public enum ReportRenderer {
    static let columns = ["model", "value", "goal", "n", "n_incomplete", "mean_vr", "sd_vr", "mean_angle", "hit_rate"]

    public static func render(_ report: VRReport, as format: ReportFormat) -> String {
        switch format {
        case .json: return json(report)
        case .csv: return CSV.document(header: columns, rows: report.cells.map(fields))
        case .markdown: return markdown(report)
        case .table: return table(report)
        }
    }

    static func fields(_ cell: VRCell) -> [String] {
        [cell.model, cell.value, cell.goal, String(cell.n), String(cell.nIncomplete),
         fixed(cell.meanVR), fixed(cell.sdVR), fixed(cell.meanAngle), fixed(cell.hitRate)]
    }

    static func fixed(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "" }

    private static func json(_ report: VRReport) -> String {
        struct Document: Encodable { let run_ids: [Int64]; let cells: [VRCell] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try! encoder.encode(Document(run_ids: report.runIDs, cells: report.cells)), as: UTF8.self) + "\n"
    }

    private static func markdown(_ report: VRReport) -> String {
        let header = ["model", "value", "goal", "n", "incomplete", "VR (mean ± sd)", "mean θ", "hit rate"]
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
        for cell in report.cells {
            lines.append("| " + [cell.model, cell.value, cell.goal, String(cell.n), String(cell.nIncomplete),
                                 meanSD(cell), fixed(cell.meanAngle), fixed(cell.hitRate)]
                .map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func meanSD(_ cell: VRCell) -> String {
        guard let mean = cell.meanVR else { return "–" }
        return String(format: "%.2f ± %.2f", mean, cell.sdVR ?? 0)
    }

    private static func table(_ report: VRReport) -> String {
        let header = ["model", "value", "goal", "n", "incomplete", "VR mean ± sd", "mean θ", "hit rate"]
        let rows = report.cells.map { cell in
            [cell.model, cell.value, cell.goal, String(cell.n), String(cell.nIncomplete), meanSD(cell),
             fixed(cell.meanAngle), fixed(cell.hitRate)]
        }
        return TextTable.render(header: header, rows: rows, rightAligned: [3, 4, 5, 6, 7])
    }
}

/// Aligned plain-text tables for terminals.
public enum TextTable {
    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return rightAligned.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
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
