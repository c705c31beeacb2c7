import Foundation
import SVO

/// The labels a person may give an item reply: the letter of the option it chose, as shown to the
/// model, among the item's letters; for an item that takes a number, the whole number it gave,
/// within the item's range, in decimal digits; or, for either, `none` (it gave no answer) or
/// `ambiguous` (it could be read as more than one).
public enum AuditLabel {
    public static let none = "none"
    public static let ambiguous = "ambiguous"

    /// The labels a reply to `item` may get, as buttons: its letters, then none and ambiguous (for
    /// a number item only these two; its number is typed).
    public static func choices(for item: InstrumentItem) -> [String] {
        let letters: [String] =
            switch item.kind {
            case .option(let count): OptionLetter.allCases.prefix(count).map(\.symbol)
            case .number: []
            }
        return letters + [none, ambiguous]
    }

    /// `label` as stored for a reply to `item` (a number as typed, "012" or " 12", in plain digits);
    /// nil when it is no label of such a reply.
    public static func stored(_ label: String, for item: InstrumentItem) -> String? {
        if choices(for: item).contains(label) { return label }
        let digits = label.trimmingCharacters(in: .whitespaces)
        guard case .number(let range) = item.kind, !digits.isEmpty,
            digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let number = Int(digits), range.contains(number)
        else { return nil }
        return String(number)
    }

    /// What the labels of a reply to `item` are, for an error.
    public static func described(for item: InstrumentItem) -> String {
        switch item.kind {
        case .option(let count):
            let last = OptionLetter.allCases[max(0, count - 1)].symbol
            return "a letter A to \(last) (as shown to the model), none or ambiguous"
        case .number(let range):
            return "a whole number from \(range.lowerBound) to \(range.upperBound), none or ambiguous"
        }
    }

    /// The labeler's name and `label` as stored for a reply to call `callID`, which asked `item`
    /// (nil when the call is no item reply: `ExperimentStore.auditItem(callID:)`). The name is
    /// trimmed; the label is refused unless a reply to that item can have it.
    public static func checked(label: String, labeler: String, callID: Int64, item: InstrumentItem?)
        throws(AuditLabelError) -> (labeler: String, label: String)
    {
        let labeler = labeler.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...80).contains(labeler.count) else { throw .badLabeler }
        guard let item else { throw .notAnItemReply(callID) }
        guard let stored = stored(label, for: item) else { throw .badLabel(label, expected: described(for: item)) }
        return (labeler, stored)
    }
}

/// Why a label was not stored.
public enum AuditLabelError: Error, Equatable, CustomStringConvertible {
    case badLabel(String, expected: String)
    case badLabeler
    case notAnItemReply(Int64)

    public var description: String {
        switch self {
        case .badLabel(let label, let expected): "\(label) is not a label of this reply: use \(expected)"
        case .badLabeler: "a label needs the labeler's name (1 to 80 characters)"
        case .notAnItemReply(let id): "call \(id) is not an item reply; only item replies are labelled"
        }
    }
}
