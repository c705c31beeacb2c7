import Design
import Domain
import Foundation
import Store

/// How a trial task ended: its queue, and its status (nil when it was left for a resume).
///
/// A struct, not a tuple: the release build of Swift 6.3.1 returned a garbage queue index from
/// a task group whose child result was the tuple `(queue: Int, status: TrialStatus?)`.
struct TrialEnd: Sendable {
    let queue: Int
    let status: TrialStatus?
}

/// Chooses the trial a run starts next. Each model's trials are walked in plan order, as their
/// own queue, so that every model's concurrency is used from the start: a model whose calls are
/// limited (`max_concurrency`, or a limit cut after 429s) takes no more trials than it can keep
/// busy, and the API models share the experiment's concurrency evenly, what one cannot use going
/// to the others. Reference agents answer at once and take what they are given, so a run of
/// reference agents only is dispatched, and stored, in plan order.
///
/// Which trials run together changes nothing in the results: each trial's seed is its own.
struct TrialDispatcher {
    /// One model's trials still to run (or, for a run of an old schema, every model's).
    struct Queue {
        /// The model, or nil for the one queue of an old run's stored trials.
        let model: String?
        var remaining: RemainingTrials
        /// New trials stored ahead of need, a batch at a time.
        var created: ArraySlice<TrialRecord> = []
        var lookahead: RemainingTrials.Work?
        var done = false
        var inFlight = 0
    }

    let store: ExperimentStore
    let runID: Int64
    let experiment: Experiment
    let control: RunControl
    private(set) var queues: [Queue]
    private let providerKinds: [String: String]
    /// New trials are stored a batch at a time: one write per `concurrency` trials rather than
    /// one the loop waits for before each trial can start.
    private let batchSize: Int
    /// Trials per round of each batch model: its share, beyond the experiment's concurrency.
    private let roundSizes: [String: Int]
    /// How many trials may run at once: the experiment's concurrency, plus the batch models' rounds.
    let capacity: Int

    init(
        store: ExperimentStore, run: RunRecord, plan: TrialPlan, experiment: Experiment, control: RunControl,
        batchSizes: [String: Int] = [:]
    ) {
        roundSizes = batchSizes
        capacity = experiment.concurrency + batchSizes.values.reduce(0, +)
        self.store = store
        runID = run.id!
        self.experiment = experiment
        self.control = control
        providerKinds = Dictionary(experiment.models.map { ($0.name, $0.provider.kind) }) { first, _ in first }
        batchSize = max(1, min(256, experiment.concurrency))
        let models = experiment.models
        if run.storesTrialsAsTheyStart, !models.isEmpty {
            // The plan lists each model's trials as one block (TrialPlan: model first).
            let block = plan.total / models.count
            queues = models.enumerated().map { index, model in
                Queue(
                    model: model.name,
                    remaining: RemainingTrials(
                        store: store, run: run, plan: plan, range: index * block..<(index + 1) * block))
            }
        } else {
            queues = [Queue(model: nil, remaining: RemainingTrials(store: store, run: run, plan: plan))]
        }
    }

    /// The next trial to start, stored, with its queue and whether it was created just now; nil
    /// when no model may start one (every queue is empty, stopped, or at its share).
    mutating func next() async throws -> (queue: Int, trial: TrialRecord, fresh: Bool)? {
        while true {
            let shares = self.shares()
            // The batch models' rounds are theirs alone: every other model keeps to the
            // experiment's concurrency, however large the rounds beside it.
            let outsideBatches = queues.filter { !isBatch($0) }.reduce(0) { $0 + $1.inFlight }
            guard
                let index = queues.indices.first(where: {
                    !queues[$0].done && queues[$0].inFlight < shares[$0]
                        && (isBatch(queues[$0]) || outsideBatches < experiment.concurrency)
                })
            else { return nil }
            // A stopped model's trials are left unrun, new ones not even stored: a resume runs them.
            if let model = queues[index].model, control.isStopped(model: model) {
                queues[index].done = true
                continue
            }
            guard let (trial, fresh) = try await nextTrial(of: index) else {
                queues[index].done = true
                continue
            }
            if control.isStopped(model: trial.key.model) { continue }
            queues[index].inFlight += 1
            return (index, trial, fresh)
        }
    }

    private func isBatch(_ queue: Queue) -> Bool { queue.model.map { roundSizes[$0] != nil } ?? false }

    /// A trial of `queue` ended (or was left for a resume).
    mutating func finished(queue: Int) {
        queues[queue].inFlight -= 1
    }

    /// How many trials each queue may have running: the experiment's concurrency shared out
    /// (water-filling) among the API models with trials left, each capped by what its calls can
    /// use; unbounded for reference agents.
    func shares() -> [Int] {
        var shares = [Int](repeating: .max, count: queues.count)
        var capacity: [Int: Int] = [:]
        for index in queues.indices where !queues[index].done {
            if let model = queues[index].model, let round = roundSizes[model] {
                shares[index] = round
                continue
            }
            guard let model = queues[index].model, let gate = control.gate(for: model) else { continue }
            capacity[index] = gate.trialCapacity(experimentConcurrency: experiment.concurrency) ?? .max
        }
        var left = experiment.concurrency
        var open = capacity.keys.sorted()
        while !open.isEmpty {
            let even = max(1, (left + open.count - 1) / open.count)
            let small = open.filter { capacity[$0]! < even }
            if small.isEmpty {
                for index in open { shares[index] = even }
                break
            }
            for index in small {
                shares[index] = capacity[index]!
                left -= capacity[index]!
            }
            open.removeAll { capacity[$0]! < even }
        }
        return shares
    }

    private mutating func nextTrial(of index: Int) async throws -> (trial: TrialRecord, fresh: Bool)? {
        while true {
            if let trial = queues[index].created.popFirst() { return (trial, true) }
            let work: RemainingTrials.Work?
            if let waiting = queues[index].lookahead {
                queues[index].lookahead = nil
                work = waiting
            } else {
                work = try await queues[index].remaining.next()
            }
            switch work {
            case nil: return nil
            case .stored(let record): return (record, false)
            case .planned(let first):
                var batch = control.isStopped(model: first.key.model) ? [] : [first]
                while batch.count < batchSize, let next = try await queues[index].remaining.next() {
                    guard case .planned(let planned) = next else {
                        queues[index].lookahead = next
                        break
                    }
                    if !control.isStopped(model: planned.key.model) { batch.append(planned) }
                }
                if batch.isEmpty { continue }
                queues[index].created = try await store.createTrials(
                    batch.map { planned in
                        TrialRecord(
                            runID: runID, key: planned.key, provider: providerKinds[planned.key.model] ?? "unknown",
                            seed: planned.seed, ordinal: planned.ordinal)
                    })[...]
            }
        }
    }
}
