import ArgumentParser
import Foundation
import Runner
import Store

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge hvae databases made on several machines into one.",
        discussion: """
            Copies every run of each input into OUT (created if needed). Ids are renumbered so they never \
            collide, message texts stay stored once, and a run already in OUT is skipped, so merging the \
            same file twice adds nothing. The slices of one sharded experiment (`hvae run --shard i/n`) \
            join a single run. Inputs are only read; each must have this hvae's schema.

            An input with *, ? or [ that names no file is a pattern, expanded by hvae (quote it, so that a \
            job script's shell passes it on). After merging, every joined run is checked against its \
            experiment's plan: a slice with no trial in OUT is reported missing, one with trials that did \
            not run to their end unfinished, and the exit status is then 1. A missing slice merged later \
            joins the run. A merge never replaces a trial OUT has: a slice resumed since it was merged \
            into OUT is refused, naming OUT, and is merged with the others into a new file.

            Examples:
              hvae run study.yaml --shard 1/2 --db part1.sqlite      (machine 1)
              hvae run study.yaml --shard 2/2 --db part2.sqlite      (machine 2)
              hvae merge part1.sqlite part2.sqlite -o study.sqlite
              hvae merge 'study-*.sqlite' -o study.sqlite              (a pattern)
            """
    )

    @Argument(help: ArgumentHelp("The databases to merge.", valueName: "database"))
    var inputs: [String]

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The database to merge into.", valueName: "file"))
    var output: String

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("name at least one database to merge") }
        let target = URL(fileURLWithPath: output).standardizedFileURL.path
        if inputs.contains(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == target }) {
            throw ValidationError("-o \(output) is also an input; merge into another file")
        }
    }

    /// The inputs, each pattern that names no file expanded (sorted, as a shell would).
    func expandedInputs() throws -> [String] {
        try inputs.flatMap { input -> [String] in
            guard !FileManager.default.fileExists(atPath: input), input.contains(where: { "*?[".contains($0) }) else {
                return [input]
            }
            var found = glob_t()
            defer { globfree(&found) }
            guard glob(input, 0, nil, &found) == 0 else {
                throw UserFacingError(message: "no database matches '\(input)'; check the pattern and the folder")
            }
            return (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }.sorted()
        }
    }

    func run() async throws {
        try await reportingErrors {
            let inputs = try expandedInputs()
            let target = URL(fileURLWithPath: output).standardizedFileURL.path
            if inputs.contains(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == target }) {
                throw UserFacingError(message: "-o \(output) is also an input; merge into another file")
            }
            // Every input is checked before OUT is created or touched.
            for input in inputs {
                do {
                    try await ExperimentStore.checkMergeable(input)
                } catch StoreError.missingDatabase {
                    throw UserFacingError(message: "no database at \(input); name the hvae databases to merge")
                } catch StoreError.notSQLite {
                    throw UserFacingError(
                        message: "\(input) is not an SQLite database; name the hvae databases to merge")
                } catch StoreError.foreignDatabase {
                    throw UserFacingError(
                        message: "\(input) is an SQLite database that hvae did not create; it was left untouched")
                }
            }
            let store = try ExperimentStore(path: output)
            // An output holding trials an input has run further is refused before anything is copied.
            for input in inputs {
                let stale = try await store.staleTrials(comparedWith: input)
                if !stale.isEmpty { throw StoreError.staleMergeOutput(path: output, input: input, runs: stale) }
            }
            for input in inputs {
                let outcome = try await store.merge(from: input)
                print(
                    """
                    \(input): \(outcome.runsAdded) run(s) added, \(outcome.slicesJoined) slice(s) joined, \
                    \(outcome.trialsAdded) trial(s) and \(outcome.callsAdded) call(s) copied, \(outcome.skipped) \
                    already present
                    """
                )
            }
            let gaps = try await ShardGap.gaps(in: store)
            for gap in gaps { FileHandle.standardError.write(Data("hvae merge: \(gap)\n".utf8)) }
            if !gaps.isEmpty { throw ExitCode(1) }
        }
    }
}
