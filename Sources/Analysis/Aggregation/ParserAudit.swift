import Foundation
import SVO
import Store

/// The parser audit: a seeded sample of item replies of every instrument, stratified by the
/// reader's status, that people label with the answer they read (`AuditLabel`); and how often
/// people and readers agree (the figure a paper's methods section cites for the parser, and for
/// `NumberReader` on the dictator game).
public enum ParserAudit {
    /// The reader's reading in the labels people give: the letter (`ok`) or number it read,
    /// `ambiguous` (it saw more than one answer: `ambiguous`, `conflict`) or `none` (`no_option`,
    /// `refusal`, `empty`).
    public static func label(status: AnswerStatus, shownLetter: OptionLetter?, number: Int? = nil) -> String {
        switch status {
        case .ok: shownLetter?.symbol ?? number.map(String.init) ?? AuditLabel.none
        case .ambiguous, .conflict: AuditLabel.ambiguous
        case .noOption, .refusal, .empty: AuditLabel.none
        }
    }

    /// The reading of a labelled reply, in the labels people give.
    public static func label(_ pair: AuditPair) -> String {
        label(status: pair.status, shownLetter: pair.shownLetter, number: pair.number)
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
    /// status equally likely. A status's sample is its replies that come first in a seeded order
    /// of call ids (`CallOrder`): a uniform random subset, which depends only on the seed, the
    /// database's largest call id (through the size of the order, a power of two) and which
    /// replies have that status, never on how many replies the other statuses have.
    ///
    /// It is found without reading every reply: call ids are looked up in that order, a batch at a
    /// time, until every status has its sample. A status still short after `probes` ids (rare, or
    /// absent) is read whole through the status index and ordered the same way, so both paths give
    /// the same sample. Found in 4,096 lookups, a status has at least about perStatus ÷ 4,096 of
    /// the ids; one that has fewer is small enough to read whole. On a million item replies this
    /// takes milliseconds where a scan of every reply took a second.
    /// Returns call ids, by status in `AnswerStatus` order, then by id.
    public static func sample(
        from source: some ItemReplySource, _ spec: SampleSpec, probes budget: Int = 4_096
    ) async throws -> [(AnswerStatus, [Int64])] {
        guard spec.perStatus > 0, !spec.runIDs.isEmpty else { return [] }
        let last = try await source.lastCallID()
        guard last > 0 else { return [] }
        let order = CallOrder(seed: spec.seed, covering: UInt64(last))
        let budget = UInt64(max(0, budget))
        var kept: [AnswerStatus: [Int64]] = [:]
        var full: Set<AnswerStatus> = []
        var key: UInt64 = 0
        while full.count < AnswerStatus.allCases.count, key < order.size, key < budget {
            let end = min(order.size, key + 1_024, budget)
            let ids = (key..<end).map { order.id(atKey: $0) }.filter { (1...last).contains($0) }
            let statuses = try await source.itemReplyStatuses(callIDs: ids, runIDs: spec.runIDs)
            for id in ids {
                guard let status = statuses[id], !full.contains(status) else { continue }
                kept[status, default: []].append(id)
                if kept[status]!.count == spec.perStatus { full.insert(status) }
            }
            key = end
        }
        // Every id visited: what was kept is each status's sample. Otherwise the statuses still
        // short are read whole and take their first replies in the same order.
        if key < order.size {
            for status in AnswerStatus.allCases where !full.contains(status) {
                let replies = try await source.itemReplies(status: status, runIDs: spec.runIDs)
                kept[status] = Array(replies.sorted { order.key(of: $0) < order.key(of: $1) }.prefix(spec.perStatus))
            }
        }
        return AnswerStatus.allCases.compactMap { status in
            guard let ids = kept[status], !ids.isEmpty else { return nil }
            return (status, ids.sorted())
        }
    }

    /// The sample's replies in the order a person labels them: shuffled by the seed, so that the
    /// order (the sample is drawn status by status) does not tell the person what the parser read.
    public static func presentationOrder(_ sample: [(AnswerStatus, [Int64])], seed: UInt64) -> [Int64] {
        sample.flatMap(\.1).sorted {
            (SplitMix64.mix(seed, UInt64(bitPattern: $0)), $0) < (SplitMix64.mix(seed, UInt64(bitPattern: $1)), $1)
        }
    }

    /// A seeded shuffle of the integers below a power of two (`size`), both ways: the order in
    /// which the audit visits call ids. Six rounds of a masked add, a multiplication by an odd
    /// number and a right xorshift, each a bijection of the integers below `size`, so every id
    /// has exactly one key and the inverse is computed, not searched for. Six, not four: with four,
    /// pairs of ids in a domain of 16 were drawn together unevenly (ParserAuditTests.samplePairs).
    struct CallOrder: Sendable {
        let bits: Int
        private let rounds: [(add: UInt64, multiply: UInt64, inverse: UInt64)]

        /// The order of the integers below the smallest power of two above `last`.
        init(seed: UInt64, covering last: UInt64) {
            bits = max(1, UInt64.bitWidth - last.leadingZeroBitCount)
            rounds = (0..<6).map { round in
                let multiply = SplitMix64.mix(seed, UInt64(2 * round + 1)) | 1
                // Newton's iteration for the inverse modulo 2^64: each step doubles the bits
                // that are right, from the 3 of `multiply` itself.
                var inverse = multiply
                for _ in 0..<5 { inverse = inverse &* (2 &- multiply &* inverse) }
                return (SplitMix64.mix(seed, UInt64(2 * round + 2)), multiply, inverse)
            }
        }

        var size: UInt64 { 1 << UInt64(bits) }
        private var mask: UInt64 { size - 1 }
        private var shift: UInt64 { UInt64(max(1, (bits + 1) / 2)) }

        /// The place of `id` in the order.
        func key(of id: Int64) -> UInt64 {
            var x = UInt64(bitPattern: id) & mask
            for round in rounds {
                x = ((x &+ round.add) & mask) &* round.multiply & mask
                x ^= x >> shift
            }
            return x
        }

        /// The id at place `key`.
        func id(atKey key: UInt64) -> Int64 {
            var x = key & mask
            for round in rounds.reversed() {
                // y = x ^ (x >> s) is undone by y ^ (y >> s) ^ (y >> 2s) ^ ...
                var shifted = x >> shift
                while shifted != 0 {
                    x ^= shifted
                    shifted >>= shift
                }
                x = ((x &* round.inverse) & mask &- round.add) & mask
            }
            return Int64(bitPattern: x)
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
        /// Cohen's kappa between parser and people over the labels' categories (the letters and
        /// numbers given, none, ambiguous); nil with no labels, or when chance agreement is total
        /// (one category only).
        public var kappa: Double?
        /// By the parser's status, in `AnswerStatus` order.
        public var byStatus: [Group]
        /// By model, in the order models first appear among the labels.
        public var byModel: [Group]
        /// By instrument, in the order of `Instruments.all`: the letter parser and the number
        /// reader apart.
        public var byInstrument: [Group]
        /// The labels people and parser disagree on.
        public var disagreements: [AuditPair]
        /// The parser versions the readings come from.
        public var parserVersions: [Int]
    }

    public static func agreement(_ pairs: [AuditPair]) -> Agreement {
        let readings = pairs.map(label)
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
            byInstrument: groups(\.instrument, order: Instruments.names),
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
