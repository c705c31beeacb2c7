import Analysis
import Foundation

/// Where each page lives: `/runs/3` on the server, `run-3.html` in a static bundle. Pages build
/// every link through this, so one rendering serves both. Links that need the server (the calls
/// page's filters, compare) are nil in a bundle, and pages leave them out.
public struct Links: Sendable {
    public enum Mode: Sendable { case server, bundle }
    public let mode: Mode

    public init(_ mode: Mode) { self.mode = mode }

    var isServer: Bool { mode == .server }

    var runs: String { isServer ? "/" : "index.html" }
    func run(_ id: Int64) -> String { isServer ? "/runs/\(id)" : "run-\(id).html" }
    func trial(_ id: Int64) -> String { isServer ? "/trials/\(id)" : "trial-\(id).html" }
    func call(_ id: Int64, trial: Int64) -> String { self.trial(trial) + "#call-\(id)" }
    func figure(_ run: Int64, _ name: String) -> String {
        isServer ? "/runs/\(run)/\(name).svg" : "run-\(run)-\(name).svg"
    }
    var style: String { isServer ? "/style.css" : "style.css" }
    func audit(_ parameters: [(String, String)] = []) -> String {
        isServer ? "/audit" + Query.encode(parameters) : "audit.html"
    }
    func calls(_ parameters: [(String, String)]) -> String? { isServer ? "/calls" + Query.encode(parameters) : nil }
    func compare(_ parameters: [(String, String)]) -> String? {
        isServer ? "/compare" + Query.encode(parameters) : nil
    }
    func runTrials(_ run: Int64, after: Int64) -> String? { isServer ? "/runs/\(run)?after=\(after)#trials" : nil }
}

/// A page's frame: the head, the navigation bar and the stylesheet link.
struct Page {
    var title: String
    var body: String

    func html(_ links: Links) -> String {
        var nav = [("Runs", links.runs)]
        if let calls = links.calls([]) { nav.append(("Calls", calls)) }
        if let compare = links.compare([]) { nav.append(("Compare", compare)) }
        nav.append(("Parser audit", links.audit()))
        let items = nav.map { "<a href=\"\(HTML.escape($0.1))\">\($0.0)</a>" }.joined(separator: " ")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="same-origin">
            <title>\(HTML.escape(title)) · hvae</title>
            <link rel="stylesheet" href="\(HTML.escape(links.style))">
            </head>
            <body>
            <header><span class="brand">hvae</span> <nav>\(items)</nav></header>
            <main>
            <h1>\(HTML.escape(title))</h1>
            \(body)
            </main>
            </body>
            </html>

            """
    }
}

/// The parameters of a URL's query string, in order, with repeated names kept
/// (`?model=a&model=b`).
public struct Query: Sendable, Equatable {
    public var pairs: [(String, String)]

    public static func == (a: Query, b: Query) -> Bool { a.pairs.elementsEqual(b.pairs, by: ==) }

    public init(_ pairs: [(String, String)] = []) { self.pairs = pairs }

    /// Parses `a=1&b=x+y` (form encoding: `+` is a space, `%XX` a byte of UTF-8).
    public init(parsing text: Substring) {
        pairs = text.split(separator: "&").compactMap { part in
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(halves[0]), !name.isEmpty else { return nil }
            return (name, halves.count > 1 ? Self.decode(halves[1]) ?? "" : "")
        }
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    public func values(_ name: String) -> [String] { pairs.filter { $0.0 == name && !$0.1.isEmpty }.map(\.1) }
    public func first(_ name: String) -> String? { values(name).first }

    /// `?a=1&b=2`, or "" for no parameters.
    static func encode(_ parameters: [(String, String)]) -> String {
        guard !parameters.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?"
            + parameters.map {
                ($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") + "="
                    + ($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
            }.joined(separator: "&")
    }
}

/// Small pieces of HTML the pages share.
enum Markup {
    static func link(_ text: String, _ href: String?) -> String {
        guard let href else { return HTML.escape(text) }
        return "<a href=\"\(HTML.escape(href))\">\(HTML.escape(text))</a>"
    }

    /// A table of already-escaped cells; `numeric` columns align right.
    static func table(header: [String], rows: [[String]], numeric: Set<Int> = [], id: String? = nil) -> String {
        func cells(_ row: [String], _ tag: String) -> String {
            row.enumerated().map { "<\(tag)\(numeric.contains($0) ? " class=\"num\"" : "")>\($1)</\(tag)>" }
                .joined()
        }
        var html = "<table\(id.map { " id=\"\($0)\"" } ?? "")>\n<thead><tr>"
        html += cells(header.map(HTML.escape), "th") + "</tr></thead>\n<tbody>\n"
        for row in rows { html += "<tr>\(cells(row, "td"))</tr>\n" }
        return html + "</tbody>\n</table>\n"
    }

    static func definitions(_ pairs: [(String, String)]) -> String {
        "<dl class=\"facts\">"
            + pairs.map { "<dt>\(HTML.escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>\n"
    }

    static func number(_ x: Double?, _ digits: Int = 2) -> String {
        x.map { String(format: "%.\(digits)f", $0) } ?? "–"
    }

    /// A stored timestamp to the second (`2026-12-01 14:12:48`), the whole of it on hover.
    static func time(_ stamp: String?) -> String {
        guard let stamp else { return "–" }
        let short = stamp.prefix(19).replacingOccurrences(of: "T", with: " ")
        return "<span class=\"time\" title=\"\(HTML.escape(stamp))\">\(HTML.escape(short))</span>"
    }

    /// `n` with thousands separated by commas (32,585).
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return n < 0 ? "-" + out : out
    }

    /// A `<select>` whose options are `choices`, with `selected` marked; the first option is "any".
    static func select(_ name: String, _ label: String, _ choices: [(value: String, text: String)], selected: String?)
        -> String
    {
        var html = "<label>\(HTML.escape(label)) <select name=\"\(name)\"><option value=\"\">any</option>"
        for choice in choices {
            let mark = choice.value == selected ? " selected" : ""
            html += "<option value=\"\(HTML.escape(choice.value))\"\(mark)>\(HTML.escape(choice.text))</option>"
        }
        return html + "</select></label>\n"
    }
}
