import Foundation

/// Timestamps are stored as ISO 8601 UTC text with milliseconds (`2026-11-29T08:12:04.123Z`):
/// readable in sqlite3, and sortable as text.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func string(_ date: Date) -> String { style.format(date) }

    public static var now: String { string(Date()) }

    /// The date a stored timestamp names; nil if it is not one.
    public static func date(_ text: String) -> Date? { try? style.parse(text) }
}
