import Analysis
import ArgumentParser
import Design
import Foundation
import Runner
import Store
import Synchronization

/// Executes a run in the foreground: progress, Ctrl-C, and the closing summary.
struct RunSession {
    let store: ExperimentStore
    let runner: ExperimentRunner
    let runID: Int64
    let experiment: Experiment
    let providers: [String: any ChatProvider]
    let quiet: Bool
    let databasePath: String
    var printsReport = true

    /// Runs the trials and prints the outcome (and the VR table unless `printsReport` is false).
    /// A run whose trials failed prints why and ends with exit status 1 (`exitIfTrialsFailed`),
    /// so that scripts notice.
    @discardableResult
    func execute() async throws -> RunOutcome {
        let referenceModels = experiment.models.filter { $0.provider.kind == "reference" }.map(\.name)
        if !referenceModels.isEmpty {
            print("reference agents (simulated, not language models): \(referenceModels.joined(separator: ", "))")
        }
        let reporter = ProgressReporter(mode: quiet ? .silent : (isatty(STDERR_FILENO) == 1 ? .terminal : .lines))
        let (runner, runID, experiment, providers) = (self.runner, self.runID, self.experiment, self.providers)
        // Ctrl-C (SIGINT), or SIGTERM as batch schedulers send before they kill a job, cancels the
        // run: calls in flight are cancelled, queued writes committed, the run marked interrupted
        // with the signal's name. A signal that came before the run started stops it at once.
        let interruption = Interruption.install()
        let work = Task {
            try await runner.execute(
                runID: runID, experiment: experiment, providers: providers, progress: { reporter.update($0) },
                interruption: { interruption.reason })
        }
        interruption.onSignal { _ in work.cancel() }

        let outcome: RunOutcome
        do {
            outcome = try await work.value
        } catch is CancellationError {
            reporter.finish()
            let number = interruption.signal ?? SIGINT
            printError(
                """
                \(number == SIGTERM ? "terminated" : "interrupted"): run \(runID) stopped; every completed call is \
                kept. Resume it with: hvae resume \(runID)\(dbHint)
                """
            )
            let open = (try? await store.batches(runID: runID))?.filter { $0.endedAt == nil }.count ?? 0
            if open > 0 {
                let it = open == 1 ? "it" : "them"
                printError(
                    """
                    \(open == 1 ? "1 batch" : "\(open) batches") of run \(runID) \(open == 1 ? "keeps" : "keep") \
                    running at the provider, billed as requests complete: the resume re-attaches to \(it); cancel \
                    \(it) with: hvae batch cancel \(runID)\(dbHint)
                    """
                )
            }
            throw ExitCode(interruption.exitStatus)
        } catch let error as StoreError {
            reporter.finish()
            guard case .diskFull(let path) = error else { throw error }
            // The run is resumable as it stands: say which run, and the exact command.
            throw UserFacingError(
                message:
                    """
                    disk full at \(path): run \(runID) stopped; every committed call is kept. Free space, then \
                    continue it with: hvae resume \(runID)\(dbHint)
                    """
            )
        }
        reporter.finish()
        let p = outcome.progress
        print(
            """
            \(outcome.unfinished == 0 ? "finished" : "stopped"): \(p.complete) complete, \(p.incomplete) incomplete, \
            \(p.failed) failed; \(p.calls) model calls\(p.cacheHits > 0 ? " (\(p.cacheHits) from the cache)" : "")
            """
        )
        for reason in outcome.stopReasons { print("  \(reason)") }
        if p.failed > 0 {
            for line in try await failureLines(store: store, runID: runID) { print("  \(line)") }
        }
        for line in try await cutReplyWarnings(store: store, runIDs: [runID]) { printError(line) }
        for line in Self.throttleWarnings(p) { printError(line) }
        if p.repliesWithReplacements > 0 {
            printError(
                """
                warning: \(p.repliesWithReplacements) replies held \(p.replacedCharacters) characters that are not \
                text (bytes that are not UTF-8, or a lone surrogate escape); each was read as U+FFFD, and \
                model_calls.raw_response keeps the bytes as received
                """)
        }
        let left = [p.failed > 0 ? "failed" : nil, outcome.unfinished > 0 ? "unfinished" : nil].compactMap { $0 }
        if !left.isEmpty {
            print(
                """
                run \(runID) has \(left.joined(separator: " and ")) trials; continue it, from where each stopped, \
                with: hvae resume \(runID)\(dbHint)
                """
            )
        }
        guard printsReport else { return outcome }
        print("")
        let report = try await Report.build(store: store, filter: TrialFilter(runIDs: [runID]))
        print(try ReportRenderer.render(report, as: .table), terminator: "")
        if let warning = report.unfinishedWarning { printError(warning) }
        return outcome
    }

    /// Exit status 1 when trials failed or a model was stopped (the reasons were printed); the run
    /// itself is kept, stored as failed.
    /// One line per model whose server refused calls for their rate, saying what to set so
    /// that the next run stays under the limit rather than finding it again.
    static func throttleWarnings(_ progress: RunProgress) -> [String] {
        progress.throttled.sorted { $0.key < $1.key }.map { model, throttle in
            """
            warning: model '\(model)': the server refused \(throttle.refusals) calls for their rate (HTTP 429), \
            each retried; its calls in flight were cut to \(throttle.lowest) of \(throttle.ceiling) and grew back \
            to \(throttle.limit). Set max_concurrency: \(max(1, throttle.lowest)) (or requests_per_minute, \
            tokens_per_minute) on it to stay under the server's limit
            """
        }
    }

    static func exitIfTrialsFailed(_ outcome: RunOutcome) throws {
        if outcome.status == .failed { throw ExitCode(1) }
    }

    private var dbHint: String { databasePath == "hvae.sqlite" ? "" : " --db \(databasePath)" }
}

/// Why a run's trials failed, for people: the three most common errors with their counts, and how
/// to see the rest. Empty when no trial failed.
func failureLines(store: ExperimentStore, runID: Int64) async throws -> [String] {
    let reasons = try await store.failureReasons(runID: runID)
    var lines = reasons.prefix(3).map { "\($0.trials) failed: \($0.error)" }
    if reasons.count > 3 {
        lines.append(
            """
            (and \(reasons.count - 3) other errors: SELECT error FROM trials WHERE run_id = \(runID) AND status = \
            'failed')
            """
        )
    }
    return lines
}

/// Warnings for replies the token limit cut short (finish reason `length`, or `max_tokens`): a
/// value description or a goal cut mid-sentence is what the model then reads as its own.
func cutReplyWarnings(store: ExperimentStore, runIDs: [Int64]) async throws -> [String] {
    let cut = try await store.cutReplies(runIDs: runIDs)
    var models: [String] = []
    for entry in cut where !models.contains(entry.model) { models.append(entry.model) }
    return models.map { model in
        let steps = cut.filter { $0.model == model }.map { "\($0.calls) \($0.step) repl\($0.calls == 1 ? "y" : "ies")" }
        return "warning: model '\(model)': \(steps.joined(separator: ", ")) cut by the token limit; "
            + "raise max_tokens (call_log.finish_reason shows which)"
    }
}
