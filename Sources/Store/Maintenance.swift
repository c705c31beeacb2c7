import Domain
import Foundation
import GRDB

/// The findings of `ExperimentStore.check(path:)`. A check that could not run, because SQLite
/// could not read what it needs, is nil: never reported as passed.
public struct DatabaseCheck: Sendable, Equatable {
    /// `PRAGMA user_version`; nil when the file cannot be opened at all.
    public var schemaVersion: Int?
    public var binarySchemaVersion: Int
    /// Damage SQLite reports (`PRAGMA integrity_check` lines other than "ok", or why the file
    /// cannot be read at all).
    public var integrityProblems: [String]
    /// `PRAGMA foreign_key_check` rows, as "table row id -> parent".
    public var foreignKeyProblems: [String]?
    /// Message texts no turn refers to.
    public var orphanTexts: Int?
    /// Message texts whose SHA-256 is not the one they are stored under (a text cut short, or
    /// changed after it was stored), by address.
    public var mismatchedTexts: [String]?
    /// The tallies (migrations/0012) that disagree with a count of the rows they tally, by table:
    /// rows deleted or changed by hand since they were recorded.
    public var staleTallies: [String]?
    /// `ok` readings of letter probabilities whose letters' rows do not run A, B, C … without a
    /// gap (migrations/0021), as "call N, parser version V": rows deleted or changed by hand.
    /// Their letters are not read (no expected angle, no entropy), so they are reported here.
    public var incompleteLetters: [String]?

    public var isHealthy: Bool {
        guard let schemaVersion, let foreignKeyProblems, let orphanTexts, let mismatchedTexts, let staleTallies,
            let incompleteLetters
        else { return false }
        return integrityProblems.isEmpty && foreignKeyProblems.isEmpty && orphanTexts == 0 && mismatchedTexts.isEmpty
            && staleTallies.isEmpty && incompleteLetters.isEmpty && schemaVersion <= binarySchemaVersion
    }
}

extension ExperimentStore {
    /// Checks a database without writing to it: integrity, foreign keys, schema version, orphan
    /// texts, and that every text's SHA-256 matches its body. Damage is a finding, not an error:
    /// each check runs on its own, so a damaged table does not hide what the others find.
    public static func check(path: String) async throws -> DatabaseCheck {
        _ = enableURIs
        try ReadOnlyOpening.requireDatabaseFile(path)
        var result = DatabaseCheck(
            schemaVersion: nil, binarySchemaVersion: Schema.currentVersion, integrityProblems: [])
        func unreadable(_ error: any Error) -> String? {
            if let error = error as? DatabaseError, [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
                return error.message ?? "\(error.resultCode)"
            }
            if case StoreError.damaged(_, let detail) = error { return detail }
            return nil
        }
        let pool: DatabasePool
        do {
            pool = try ReadOnlyOpening.connect(path)
            result.schemaVersion = try await pool.read { db in
                guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == Schema.applicationID else {
                    throw StoreError.foreignDatabase(path: path)
                }
                return try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            }
        } catch {
            guard let detail = unreadable(error) else { throw error }
            result.integrityProblems.append("SQLite cannot read it: \(detail)")
            return result
        }
        defer { try? pool.close() }
        /// Runs one check; damage it meets is recorded and leaves its finding nil.
        func attempt<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T? {
            do { return try await pool.read(body) } catch {
                guard let detail = unreadable(error) else { throw error }
                let problem = "SQLite cannot read it: \(detail)"
                if !result.integrityProblems.contains(problem) { result.integrityProblems.append(problem) }
                return nil
            }
        }
        if let problems = try await attempt({ db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }) {
            result.integrityProblems += problems.filter { $0 != "ok" }
        }
        result.foreignKeyProblems = try await attempt { db in
            try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                let table = row["table"] as String? ?? "?"
                return "\(table) row \(row["rowid"] as Int64? ?? -1) -> \(row["parent"] as String? ?? "?")"
            }
        }
        result.orphanTexts = try await attempt { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM texts WHERE NOT EXISTS (SELECT 1 FROM turns WHERE turns.text_sha256 = \
                    texts.sha256)
                    """) ?? 0
        }
        result.mismatchedTexts = try await attempt { db in
            var mismatched: [String] = []
            let texts = try Row.fetchCursor(db, sql: "SELECT sha256, CAST(body AS BLOB) AS body FROM texts")
            while let row = try texts.next() {
                let address: String = row["sha256"]
                if Digest.sha256Hex((row["body"] as Data?) ?? Data()) != address { mismatched.append(address) }
            }
            return mismatched
        }
        let schema = result.schemaVersion ?? 0
        result.staleTallies = try await attempt { db in
            try schema >= Tally.schemaVersion
                ? Tally.allCases.filter { try !$0.agrees(db, schema: schema) }.map(\.rawValue) : []
        }
        result.incompleteLetters = try await attempt { db in
            try schema >= OptionProbabilities.schemaVersion
                ? OptionProbabilities.incomplete(db: db).map { "call \($0.callID), parser version \($0.parserVersion)" }
                : []
        }
        return result
    }

    /// The damage SQLite's quick check finds in the file at `path` (or that keeps it from being
    /// checked at all), as `StoreError.damaged`; nil when it finds the file intact.
    static func confirmedDamage(path: String) -> StoreError? {
        do {
            // The file is open in SQLite in this process: its header is not read outside it.
            try requireIntact(path: path, checkingHeader: false)
            return nil
        } catch let error as StoreError {
            if case .damaged = error { return error }
            return nil
        } catch {
            return nil
        }
    }

    /// Throws `StoreError.damaged` unless SQLite's quick check finds the file intact; reads only.
    /// Commands that rewrite a whole file (migrate, vacuum) call it first, so that they never
    /// spread damage. It reads every page: seconds for a large database.
    public static func requireIntact(path: String, checkingHeader: Bool = true) throws {
        _ = enableURIs
        try ReadOnlyOpening.requireDatabaseFile(path, checkingHeader: checkingHeader)
        let problems: [String]
        do {
            // Untranslated: translating a damaged file's error asks this check.
            let pool = try ReadOnlyOpening.connectUntranslated(path)
            defer { try? pool.close() }
            problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
        } catch let error as DatabaseError
            where [.SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_IOERR].contains(error.resultCode.primaryResultCode)
        {
            throw StoreError.damaged(path: path, detail: error.message ?? "\(error.resultCode)")
        }
        guard problems == ["ok"] else {
            throw StoreError.damaged(path: path, detail: problems.joined(separator: "; "))
        }
    }

    /// The schema version of a database file, read without writing.
    public static func schemaVersion(of path: String) throws -> Int {
        _ = enableURIs
        try ReadOnlyOpening.requireDatabaseFile(path)
        let pool = try ReadOnlyOpening.connect(path)
        defer { try? pool.close() }
        return try ReadOnlyOpening.schemaVersion(pool, path: path)
    }

    /// Rewrites the file compactly (VACUUM) after folding the write-ahead log into it.
    public func vacuum() async throws {
        let writer = try requireWriter()
        try await Self.mapped(path) {
            try await writer.barrierWriteWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
    }
}

/// The tallies of migrations/0012, each with the count of stored rows it must equal. They
/// are only ever compared here: what reads them reads the tally, which is the point.
enum Tally: String, CaseIterable {
    case status = "status_tallies"
    case usage = "usage_tallies"
    case reportedIDs = "reported_ids"

    static let schemaVersion = 12
    /// Since this schema `usage_tallies` also counts the tokens of cache hits.
    static let cachedTokensVersion = 18

    /// The tally's rows (those that count something) and the same rows counted from scratch, in
    /// a database of schema `schema`.
    func rows(schema: Int) -> (tally: String, recount: String) {
        let cached = schema >= Self.cachedTokensVersion
        return switch self {
        case .status:
            (
                "SELECT run_id, status, trials FROM trial_status_counts",
                "SELECT run_id, status, count(*) FROM trial_results GROUP BY 1, 2"
            )
        case .usage:
            (
                """
                SELECT run_id, model, provider, first_trial_id, calls, errors, retries, cache_hits, input_tokens,
                       output_tokens\(cached ? ", cached_input_tokens, cached_output_tokens" : "") FROM usage_tallies
                """,
                """
                SELECT t.run_id, t.model, min(t.provider), min(t.id), count(c.id),
                       coalesce(sum(c.error IS NOT NULL), 0),
                       coalesce(sum(c.retry > 0), 0), coalesce(sum(c.cache_hit), 0),
                       coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0)\(cached ? """
                       , coalesce(sum(c.cache_hit * coalesce(c.input_tokens, 0)), 0),
                       coalesce(sum(c.cache_hit * coalesce(c.output_tokens, 0)), 0)
                """ : "")
                FROM trials AS t LEFT JOIN model_calls AS c ON c.trial_id = t.id GROUP BY 1, 2
                """
            )
        case .reportedIDs:
            (
                "SELECT run_id, model, kind, id FROM reported_ids",
                """
                SELECT t.run_id, t.model, 'model', c.provider_model_id
                FROM trials AS t JOIN model_calls AS c ON c.trial_id = t.id WHERE c.provider_model_id IS NOT NULL
                UNION
                SELECT t.run_id, t.model, 'fingerprint', c.system_fingerprint
                FROM trials AS t JOIN model_calls AS c ON c.trial_id = t.id WHERE c.system_fingerprint IS NOT NULL
                """
            )
        }
    }

    /// Whether the tally holds exactly the counts of the rows stored.
    func agrees(_ db: Database, schema: Int) throws -> Bool {
        let (tally, recount) = rows(schema: schema)
        return try Int.fetchOne(
            db,
            sql: """
                SELECT (SELECT count(*) FROM (SELECT * FROM (\(tally)) EXCEPT SELECT * FROM (\(recount))))
                     + (SELECT count(*) FROM (SELECT * FROM (\(recount)) EXCEPT SELECT * FROM (\(tally))))
                """) == 0
    }
}
