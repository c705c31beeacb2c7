import Foundation
import SVO
import Store
import Synchronization

/// The parser audit: a seeded sample of item replies, stratified by the parser's status, that
/// people label with the option they read; and how often people and parser agree (the figure a
/// paper's methods section cites for the parser).
public enum ParserAudit {
    /// The parser's reading in the labels people give: the letter it read (`ok`), `ambiguous`
    /// (it saw more than one option: `ambiguous`, `conflict`) or `none` (`no_option`, `refusal`,
    /// `empty`).
    public static func label(status: AnswerStatus, shownLetter: OptionLetter?) -> String {
        switch status {
        case .ok: shownLetter?.symbol ?? "none"
        case .ambiguous, .conflict: "ambiguous"
        case .noOption, .refusal, .empty: "none"
        }
    }

    // MARK: Sampling

    /// A sample's definition: the same runs, seed and size give the same replies.
    public struct SampleSpec: Sendable, Hashable {
        public var runIDs: [Int64]
        /// Replies drawn from each parse status (all of a status with fewer).
        public var perStatus: Int
        public var seed: UInt64

        public init(runIDs: [Int64], perStatus: Int, seed: UInt64) {
            self.runIDs = runIDs
            self.perStatus = perStatus
            self.seed = seed
        }
    }

    /// Draws the sample: up to `perStatus` item replies of each parse status, each reply of a
    /// status equally likely (reservoir sampling, so memory holds the sample, not the replies).
    /// Returns call ids, by status in `AnswerStatus` order, then by id.
    public static func sample(store: ExperimentStore, _ spec: SampleSpec) async throws -> [(AnswerStatus, [Int64])] {
        let reservoirs = Reservoirs(size: spec.perStatus, seed: spec.seed)
        try await store.forEachItemReply(runIDs: spec.runIDs) { reservoirs.offer($0, $1) }
        return reservoirs.drawn()
    }

    /// The sample's replies in the order a person labels them: shuffled by the seed, so that the
    /// order (the sample is drawn status by status) does not tell the person what the parser read.
    public static func presentationOrder(_ sample: [(AnswerStatus, [Int64])], seed: UInt64) -> [Int64] {
        sample.flatMap(\.1).sorted {
            (SplitMix64.mix(seed, UInt64(bitPattern: $0)), $0) < (SplitMix64.mix(seed, UInt64(bitPattern: $1)), $1)
        }
    }

    /// One reservoir per status (Vitter's algorithm R), each with its own stream of a seeded
    /// generator so that a status's sample does not depend on how many replies the others have.
    final class Reservoirs: Sendable {
        struct Stratum {
            var seen = 0
            var kept: [Int64] = []
            var random: SplitMix64
        }
        let size: Int
        private let strata: Mutex<[AnswerStatus: Stratum]>

        init(size: Int, seed: UInt64) {
            self.size = size
            var strata: [AnswerStatus: Stratum] = [:]
            for (index, status) in AnswerStatus.allCases.enumerated() {
                strata[status] = Stratum(random: SplitMix64(seed: SplitMix64.mix(seed, UInt64(index + 1))))
            }
            self.strata = Mutex(strata)
        }

        func offer(_ callID: Int64, _ status: AnswerStatus) {
            strata.withLock { strata in
                guard var stratum = strata[status] else { return }
                stratum.seen += 1
                if stratum.kept.count < size {
                    stratum.kept.append(callID)
                } else {
                    let slot = Int(stratum.random.next() % UInt64(stratum.seen))
                    if slot < size { stratum.kept[slot] = callID }
                }
                strata[status] = stratum
            }
        }

        func drawn() -> [(AnswerStatus, [Int64])] {
            strata.withLock { strata in
                AnswerStatus.allCases.compactMap { status in
                    guard let kept = strata[status]?.kept, !kept.isEmpty else { return nil }
                    return (status, kept.sorted())
                }
            }
        }
    }

    // MARK: Agreement

    /// How often people read what the parser read.
    public struct Agreement: Sendable, Equatable {
        public struct Group: Sendable, Equatable {
            public var name: String
            public var labels: Int
            public var agreed: Int
            public var share: Double? { labels == 0 ? nil : Double(agreed) / Double(labels) }
        }
        /// Labels compared (one per person and reply).
        public var labels: Int
        public var agreed: Int
        public var share: Double? { labels == 0 ? nil : Double(agreed) / Double(labels) }
        /// Cohen's kappa between parser and people over the labels' categories (A..I, none,
        /// ambiguous); nil with no labels, or when chance agreement is total (one category only).
        public var kappa: Double?
        /// By the parser's status, in `AnswerStatus` order.
        public var byStatus: [Group]
        /// By model, in the order models first appear among the labels.
        public var byModel: [Group]
        /// The labels people and parser disagree on.
        public var disagreements: [AuditPair]
        /// The parser versions the readings come from.
        public var parserVersions: [Int]
    }

    public static func agreement(_ pairs: [AuditPair]) -> Agreement {
        let readings = pairs.map { label(status: $0.status, shownLetter: $0.shownLetter) }
        let agrees = zip(pairs, readings).map { $0.label == $1 }
        func groups(_ key: (AuditPair) -> String, order: [String]) -> [Agreement.Group] {
            order.compactMap { name in
                let members = pairs.indices.filter { key(pairs[$0]) == name }
                guard !members.isEmpty else { return nil }
                return Agreement.Group(
                    name: name, labels: members.count, agreed: members.filter { agrees[$0] }.count)
            }
        }
        var models: [String] = []
        for pair in pairs where !models.contains(pair.model) { models.append(pair.model) }
        return Agreement(
            labels: pairs.count, agreed: agrees.filter { $0 }.count,
            kappa: cohenKappa(Array(zip(readings, pairs.map(\.label)))),
            byStatus: groups(\.status.rawValue, order: AnswerStatus.allCases.map(\.rawValue)),
            byModel: groups(\.model, order: models),
            disagreements: pairs.indices.filter { !agrees[$0] }.map { pairs[$0] },
            parserVersions: Array(Set(pairs.map(\.parserVersion))).sorted())
    }

    /// Cohen's kappa of two raters over the same items: (observed − chance) ÷ (1 − chance), where
    /// chance agreement is the sum over categories of the product of the raters' shares.
    public static func cohenKappa(_ ratings: [(String, String)]) -> Double? {
        guard !ratings.isEmpty else { return nil }
        let n = Double(ratings.count)
        let observed = Double(ratings.filter { $0.0 == $0.1 }.count) / n
        var first: [String: Double] = [:]
        var second: [String: Double] = [:]
        for (a, b) in ratings {
            first[a, default: 0] += 1
            second[b, default: 0] += 1
        }
        let chance = first.reduce(0.0) { $0 + ($1.value / n) * ((second[$1.key] ?? 0) / n) }
        guard chance < 1 else { return nil }
        return (observed - chance) / (1 - chance)
    }
}
