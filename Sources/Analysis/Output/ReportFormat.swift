import Foundation
import SVO
import Store

/// The output formats of `hvae report`.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// `html` is a `<table>` element (what `hvae view` shows), not a whole page.
    case table, csv, markdown, latex, json, html
}

/// How the rows and columns are laid out.
public enum ReportLayout: String, CaseIterable, Sendable {
    /// One row per group.
    case rows
    /// The study's table: models (and goal conditions) as rows, the four values as columns,
    /// "mean ± sd (n)".
    case study
}

/// Why a report cannot be laid out as asked.
public struct ReportLayoutError: Error, CustomStringConvertible {
    public let description: String
}

/// Renders reports. Text formats round to two decimals; CSV and JSON keep full precision.
public enum ReportRenderer {
    /// `baselines`: models that answer at random, marked in the study layout as the baseline.
    public static func render(
        _ report: Report, as format: ReportFormat, layout: ReportLayout = .rows, baselines: [String] = []
    ) throws -> String {
        switch layout {
        case .rows: return rows(report, format)
        case .study: return try study(report, format, baselines: baselines)
        }
    }

    // MARK: Rows layout

    /// Machine-readable columns, in order; CSV uses these names.
    static let machineColumns = [
        "n", "n_complete", "n_incomplete", "n_failed", "n_unfinished", "mean_vr", "sd_vr", "ci_low", "ci_high",
        "mean_angle",
        "pooled_angle", "hit_rate", "transitive_share", "mean_inequality_aversion", "mean_expected_angle",
        "mean_entropy",
    ]

    static func machineValues(_ cell: ReportCell) -> [String] {
        [
            String(cell.n), String(cell.nComplete), String(cell.nIncomplete), String(cell.nFailed),
            String(cell.nUnfinished), exact(cell.meanVR), exact(cell.sdVR), exact(cell.ciLow),
            exact(cell.ciHigh),
            exact(cell.meanAngle), exact(cell.pooledAngle), exact(cell.hitRate), exact(cell.transitiveShare),
            exact(cell.meanInequalityAversion), exact(cell.meanExpectedAngle), exact(cell.meanEntropy),
        ]
    }

    /// Why a cell has no VR: its instrument cannot tell its value from others.
    static func indistinguishableNote(
        _ cell: ReportCell, _ groupBy: [ReportDimension], instrument name: String? = nil
    ) -> String {
        let instrument = groupBy.firstIndex(of: .instrument).map { cell.group[$0] } ?? name ?? "its instrument"
        let value = groupBy.firstIndex(of: .value).map { cell.group[$0] } ?? "the value"
        return "No VR for \(value) on \(instrument): its ideal answers are those of "
            + "\(cell.indistinguishableFrom.joined(separator: ", ")) too, so it cannot tell them apart (method.md §9)."
    }

    static func rows(_ report: Report, _ format: ReportFormat) -> String {
        switch format {
        case .json:
            struct Document: Encodable {
                let filter: TrialFilter
                let options: ReportOptions
                let cells: [ReportCell]
                let answers: [AnswerQuality]
            }
            return prettyJSON(
                Document(filter: report.filter, options: report.options, cells: report.cells, answers: report.answers))
        case .csv:
            return CSV.document(
                header: report.options.groupBy.map(\.rawValue) + machineColumns,
                rows: report.cells.map { $0.group + machineValues($0) })
        case .table, .markdown, .latex, .html:
            var columns: [(header: String, text: (ReportCell) -> String)] = report.options.groupBy.enumerated().map {
                index, dimension in (dimension.rawValue.replacingOccurrences(of: "_", with: " "), { $0.group[index] })
            }
            columns += [
                ("n", { String($0.n) }), ("incomplete", { String($0.nIncomplete) }),
                ("failed", { String($0.nFailed) }), ("unfinished", { String($0.nUnfinished) }),
                ("VR mean ± sd", meanSD),
                (intervalHeader(report.options.confidence), interval), ("mean θ", { fixed($0.meanAngle) }),
                ("pooled θ", { fixed($0.pooledAngle) }),
                ("hit rate", { fixed($0.hitRate) }), ("transitive", { fixed($0.transitiveShare) }),
            ]
            if report.cells.contains(where: { $0.meanInequalityAversion != nil }) {
                columns.append(("ineq. aversion", { fixed($0.meanInequalityAversion) }))
            }
            // Beside the chosen angle, for models that read log probabilities (method.md §8.7).
            if report.cells.contains(where: { $0.meanExpectedAngle != nil || $0.meanEntropy != nil }) {
                let chosen = columns.firstIndex { $0.header == "mean θ" }!
                columns.insert(("expected θ", { fixed($0.meanExpectedAngle) }), at: chosen + 1)
                columns.append(("entropy (bits)", { fixed($0.meanEntropy) }))
            }
            var notes = AnswerQuality.notes(report.answers)
            if report.cells.contains(where: \.tooFewForInterval) { notes.insert(tooFewNote, at: 0) }
            for cell in report.cells where !cell.indistinguishableFrom.isEmpty {
                let note = indistinguishableNote(cell, report.options.groupBy)
                if !notes.contains(note) { notes.insert(note, at: 0) }
            }
            let table = HumanTable(
                header: columns.map(\.header),
                rows: report.cells.map { cell in columns.map { $0.text(cell) } },
                numeric: Set(report.options.groupBy.count..<columns.count), notes: notes)
            return table.render(format)
        }
    }

    // MARK: Study layout

    static let values = ValueOrientation.allCases.map(\.rawValue)

    /// `instrument`: the one instrument of the trials, when the caller split them by it.
    static func study(
        _ report: Report, _ format: ReportFormat, baselines: [String] = [], instrument: String? = nil
    ) throws -> String {
        // Trials of several measures: one study table per instrument, never one pooled table.
        if let index = report.options.groupBy.firstIndex(of: .instrument) {
            var part = report
            part.options.groupBy.remove(at: index)
            return try distinctInOrder(report.cells.map { $0.group[index] }).map { instrument in
                part.cells = report.cells.filter { $0.group[index] == instrument }.map { cell in
                    var cell = cell
                    cell.group.remove(at: index)
                    return cell
                }
                let heading =
                    switch format {
                    case .latex: "% instrument: \(instrument)\n"
                    case .html: "<h3>\(instrument)</h3>\n"
                    default: "Instrument: \(instrument)\n"
                    }
                return heading + (try study(part, format, baselines: baselines, instrument: instrument))
            }.joined(separator: "\n")
        }
        guard let modelIndex = report.options.groupBy.firstIndex(of: .model),
            let valueIndex = report.options.groupBy.firstIndex(of: .value),
            let goalIndex = report.options.groupBy.firstIndex(of: .goal),
            report.options.groupBy.count == 3
        else { throw ReportLayoutError(description: "--layout study needs --by model,value,goal (the default)") }
        guard report.cells.contains(where: { values.contains($0.group[valueIndex]) }) else {
            throw ReportLayoutError(
                description:
                    "--layout study has the four named values as columns, and these trials were told targets only; "
                    + "use --steerability, or the rows layout")
        }
        let rowKeys = distinctInOrder(report.cells.map { [$0.group[modelIndex], $0.group[goalIndex]] })
            .map { (model: $0[0], goal: $0[1]) }
        func cell(_ model: String, _ goal: String, _ value: String) -> ReportCell? {
            report.cells.first {
                $0.group[modelIndex] == model && $0.group[goalIndex] == goal && $0.group[valueIndex] == value
            }
        }
        switch format {
        case .json:
            return prettyJSON(
                rowKeys.map { key in
                    StudyJSONRow(
                        model: key.model, goal: key.goal, cells: values.map { ($0, cell(key.model, key.goal, $0)) })
                })
        case .csv:
            let header =
                ["model", "goal"] + values.flatMap { ["\($0)_mean_vr", "\($0)_sd_vr", "\($0)_n", "\($0)_n_complete"] }
            let rows = rowKeys.map { key in
                [key.model, key.goal]
                    + values.flatMap { value -> [String] in
                        let c = cell(key.model, key.goal, value)
                        return [
                            exact(c?.meanVR), exact(c?.sdVR), c.map { String($0.n) } ?? "",
                            c.map { String($0.nComplete) } ?? "",
                        ]
                    }
            }
            return CSV.document(header: header, rows: rows)
        case .table, .markdown, .latex, .html:
            var flagged = false
            let shownBaselines = baselines.filter { name in rowKeys.contains { $0.model == name } }
            let rows = rowKeys.map { key in
                [shownBaselines.contains(key.model) ? "\(key.model) (baseline)" : key.model, key.goal]
                    + values.map { value -> String in
                        guard let c = cell(key.model, key.goal, value) else { return "" }
                        flagged = flagged || c.tooFewForInterval
                        return "\(meanSD(c)) (\(c.nComplete))\(c.tooFewForInterval ? " †" : "")"
                    }
            }
            var notes = ["Mean VR ± sd (complete trials); – where the sd is undefined (one complete trial)."]
            if flagged { notes.append(tooFewNote) }
            for cell in report.cells where !cell.indistinguishableFrom.isEmpty {
                let note = indistinguishableNote(cell, report.options.groupBy, instrument: instrument)
                if !notes.contains(note) { notes.append(note) }
            }
            if !shownBaselines.isEmpty {
                notes.append(
                    "(baseline): answers uniformly at random; the slider sorts such answers mostly into prosocial "
                        + "and individualistic, so a model must do better than this row to pursue a value.")
            }
            notes += AnswerQuality.notes(report.answers)
            return HumanTable(header: ["model", "goal"] + values, rows: rows, numeric: [2, 3, 4, 5], notes: notes)
                .render(format)
        }
    }

    // MARK: Numbers

    /// "95% CI": the header of an interval column at `confidence`, in every table.
    public static func intervalHeader(_ confidence: Double) -> String {
        let percent = confidence * 100
        let text = percent == percent.rounded() ? String(Int(percent)) : String(format: "%g", percent)
        return "\(text)% CI"
    }

    static func fixed(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "" }

    /// Full precision (shortest text that reads back as the same Double).
    static func exact(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }

    /// "mean ± sd"; an undefined sd (one complete trial) is "–", never 0.00.
    static func meanSD(_ cell: ReportCell) -> String {
        guard let mean = cell.meanVR else { return "–" }
        return String(format: "%.2f ± ", mean) + (cell.sdVR.map { String(format: "%.2f", $0) } ?? "–")
    }

    static func interval(_ cell: ReportCell) -> String {
        interval(cell.ciLow, cell.ciHigh, tooFew: cell.tooFewForInterval)
    }

    /// "[low, high]" to two decimals; "†" for an estimate that rests on fewer values than an
    /// interval needs (`Statistics.intervalMinimum`); else `missing`: every table's form.
    static func interval(_ low: Double?, _ high: Double?, tooFew: Bool = false, missing: String = "") -> String {
        guard let low, let high else { return tooFew ? "†" : missing }
        return String(format: "[%.2f, %.2f]", low, high)
    }

    /// The footnote of every table with a † (`interval(_:_:tooFew:missing:)`).
    static let tooFewNote =
        "† fewer than \(Statistics.intervalMinimum) complete trials (or pairs, or cells) behind the estimate: "
        + "its value and n, no interval."
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
            try container.encode(cell?.nComplete, forKey: Key("\(value)_n_complete"))
        }
    }
}
