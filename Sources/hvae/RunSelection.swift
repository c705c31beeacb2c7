import Analysis
import ArgumentParser
import Foundation
import Store

/// Which runs a command reads: --run (repeated), --experiment (repeated), --all, or the newest run.
struct RunSelection: ParsableArguments {
    @Option(name: .customLong("run"), help: ArgumentHelp("A run id; repeat for several.", valueName: "id"))
    var runIDs: [Int64] = []

    @Option(
        name: .customLong("experiment"),
        help: ArgumentHelp(
            "Every run of the experiment with this name; repeat for several.", valueName: "name"))
    var experiments: [String] = []

    @Flag(help: "Every run in the database.")
    var all = false

    @Flag(
        name: .customLong("include-repeats"),
        help: ArgumentHelp(
            "Pool replays and repeated runs of one experiment too.",
            discussion: """
                A replay serves its original's replies again, and two runs of one experiment draw the same \
                trials (the same seeds): pooling them counts every trial twice. By default only the first run \
                of each experiment is kept and the others are named on stderr.
                """))
    var includeRepeats = false

    /// Opens the database, which must exist, for reading only, and resolves the selection in it.
    func open(_ database: DatabaseOptions) async throws -> (store: ExperimentStore, runIDs: [Int64]) {
        let store = try openForReading(database)
        return (store, try await resolve(store, databasePath: database.path))
    }

    /// The selected run ids; the newest run when nothing is selected. Unknown ids are errors.
    /// Runs that repeat another's draws are left out (and said to be) unless --include-repeats.
    func resolve(_ store: ExperimentStore, databasePath: String) async throws -> [Int64] {
        let runs = try await store.runs()
        guard let newest = runs.first?.id else {
            throw UserFacingError(message: "no runs in \(databasePath); start one with `hvae run FILE`")
        }
        var ids = Set<Int64>()
        if all { ids = Set(runs.compactMap(\.id)) }
        for id in runIDs {
            guard runs.contains(where: { $0.id == id }) else { throw StoreError.unknownRun(id) }
            ids.insert(id)
        }
        for name in experiments {
            let matching = runs.filter { $0.name == name }.compactMap(\.id)
            guard !matching.isEmpty else {
                throw UserFacingError(message: "no run of an experiment named '\(name)'; `hvae runs` lists them")
            }
            ids.formUnion(matching)
        }
        if ids.isEmpty { return [newest] }
        guard !includeRepeats else { return ids.sorted() }
        let (kept, leftOut) = DistinctDraws.select(runs.filter { ids.contains($0.id!) })
        if let note = DistinctDraws.note(leftOut) { printError(note) }
        return kept
    }
}

/// Opens the database for a command that only reads: nothing is written to it. An older schema
/// is read from a migrated copy, which is said on stderr.
func openForReading(_ database: DatabaseOptions) throws -> ExperimentStore {
    let store = try ExperimentStore.openForReading(path: database.path)
    if store.migratedCopy != nil {
        printError(
            """
            note: \(database.path) has an older schema; it is read from a migrated copy and left as it is (`hvae db \
            migrate` upgrades it)
            """
        )
    }
    return store
}

/// Before a run writes to an existing database: SQLite's quick check of every page, so that a
/// damaged file is named and left as it is, not given a new run that fails at the damage. Reads
/// only; seconds on a file of a million calls.
func requireIntactBeforeWriting(_ path: String) throws {
    let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
    guard size > 0 else { return }
    try ExperimentStore.requireIntact(path: path)
}
