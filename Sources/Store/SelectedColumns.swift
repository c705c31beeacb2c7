import GRDB

/// The columns a query selects, as the cases of an enumeration: each case names its column (the
/// case in snake case: `angularError` is `angular_error`, `trialID` is `trial_id`), the query's
/// select list is made from them (`list(_:)`), and a row is read by case (`row[C.angularError]`).
///
/// For queries that read many rows: a read by case costs what a read by position does, where a
/// read by name looks the name up on every row (a lowercased copy and a hash per value). Records
/// and queries of a few rows read by name (`Columns`, `row["name"]`).
protocol SelectedColumns: RawRepresentable<Int>, CaseIterable where AllCases == [Self] {
    /// The column a case names: by default the case in snake case.
    var name: String { get }
}

extension SelectedColumns {
    var name: String { Self.snakeCase(String(describing: self)) }

    /// The columns, in the cases' order.
    static var names: [String] { allCases.map(\.name) }

    /// The select list, in the cases' order, each column prefixed by `alias.` when given.
    static func list(_ alias: String? = nil) -> String {
        names.map { (alias.map { "\($0)." } ?? "") + $0 }.joined(separator: ", ")
    }

    /// `trialID` → `trial_id`, `experimentSHA256` → `experiment_sha256`, `pA` → `p_a`.
    static func snakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true) {
                    result.append("_")
                }
            }
            result.append(contentsOf: character.lowercased())
        }
        return result
    }
}

/// A statement written by hand for reads by case: checked, in debug builds (so in every test),
/// to select `names` in order, expressions aliased to their case's name.
func selecting(_ names: [String], _ statement: Statement) -> Statement {
    assert(statement.columnNames == names, "\(statement.columnNames) are not the columns \(names)")
    return statement
}

extension Row {
    /// The value of a selected column: its case's position in a query made from `list(_:)`,
    /// after `offset` columns selected before them.
    subscript<Column: SelectedColumns, Value: DatabaseValueConvertible>(_ column: Column, after offset: Int = 0)
        -> Value
    {
        self[offset + column.rawValue]
    }

    subscript<
        Column: SelectedColumns, Value: DatabaseValueConvertible & StatementColumnConvertible
    >(_ column: Column, after offset: Int = 0) -> Value {
        self[offset + column.rawValue]
    }
}

/// A record read and written by column name whose table's columns are one enumeration.
///
/// Its reads select those columns by name (`selection`), never `*`: a `*` selects whatever
/// columns the connection's schema has, and a column missing from it would decode as nil, or fail
/// only at the read. A named list fails to prepare instead, and SQLite then reloads a schema that
/// another connection changed and prepares the statement again.
protocol ListedColumnsRecord: FetchableRecord, TableRecord {
    associatedtype ListedColumns: CaseIterable & ColumnExpression
}

extension ListedColumnsRecord {
    /// The select list: every column of `ListedColumns`, in its order.
    static var selection: String { ListedColumns.allCases.map(\.name).joined(separator: ", ") }
}

extension PersistenceContainer {
    /// Stores every column of a record's `Columns`, each from `value`: an exhaustive switch there
    /// makes a column added to the list a compile error until the record writes it.
    mutating func encodeEach<Columns: CaseIterable & ColumnExpression>(
        _ value: (Columns) -> (any DatabaseValueConvertible)?
    ) {
        for column in Columns.allCases { self[column] = value(column) }
    }
}
