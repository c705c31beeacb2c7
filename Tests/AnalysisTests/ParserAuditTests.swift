import Foundation
import SVO
import Store
import Synchronization
import Testing

@testable import Analysis

@Suite("The parser audit: a stratified seeded sample, and agreement between people and parser")
struct ParserAuditTests {
    @Test("Cohen's kappa: the textbook two-rater table, perfect and chance-level agreement")
    func kappa() throws {
        // 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: observed 0.70, chance 0.50, kappa 0.40.
        let ratings =
            Array(repeating: ("yes", "yes"), count: 20) + Array(repeating: ("yes", "no"), count: 5)
            + Array(repeating: ("no", "yes"), count: 10) + Array(repeating: ("no", "no"), count: 15)
        #expect(abs(try #require(ParserAudit.cohenKappa(ratings)) - 0.4) < 1e-12)
        #expect(ParserAudit.cohenKappa([("A", "A"), ("B", "B"), ("none", "none")]) == 1)
        // Each rater always says the same thing: chance agreement is total, kappa undefined.
        #expect(ParserAudit.cohenKappa([("A", "A"), ("A", "A")]) == nil)
        #expect(ParserAudit.cohenKappa([]) == nil)
        // Systematic disagreement is below zero.
        #expect(try #require(ParserAudit.cohenKappa([("A", "B"), ("B", "A")])) < 0)
    }

    @Test("the parser's statuses in the labels' terms")
    func parserLabels() {
        #expect(ParserAudit.label(status: .ok, shownLetter: .c) == "C")
        #expect(ParserAudit.label(status: .ambiguous, shownLetter: nil) == "ambiguous")
        #expect(ParserAudit.label(status: .conflict, shownLetter: nil) == "ambiguous")
        for status in [AnswerStatus.noOption, .refusal, .empty] {
            #expect(ParserAudit.label(status: status, shownLetter: nil) == "none")
        }
    }

    @Test("a label is checked against the item its reply answered: its letters, its range, none or ambiguous")
    func checkedLabels() throws {
        let slider = try #require(Instruments.named("slider")?.form(seed: 1).item(1))
        let ring = try #require(Instruments.named("ring")?.form(seed: 1).items.first)
        let dictator = try #require(Instruments.named("dictator")?.form(seed: 1).items.first)
        func checked(_ label: String, _ item: InstrumentItem?, labeler: String = "ada") throws(AuditLabelError)
            -> String
        {
            try AuditLabel.checked(label: label, labeler: labeler, callID: 7, item: item).label
        }
        #expect(try checked("C", slider) == "C")
        #expect(try checked("none", ring) == "none")
        #expect(try checked("012", dictator) == "12")
        #expect(try AuditLabel.checked(label: "A", labeler: " bo ", callID: 7, item: slider).labeler == "bo")
        let letters = "a letter A to I (as shown to the model), none or ambiguous"
        for bad in ["J", "5", "b", ""] {
            #expect(throws: AuditLabelError.badLabel(bad, expected: letters)) { try checked(bad, slider) }
        }
        #expect(
            throws: AuditLabelError.badLabel(
                "C", expected: "a letter A to B (as shown to the model), none or ambiguous")
        ) {
            try checked("C", ring)
        }
        let budget = try #require(dictator.budget?.tokens)
        #expect(
            throws: AuditLabelError.badLabel(
                "\(budget + 1)", expected: "a whole number from 0 to \(budget), none or ambiguous")
        ) {
            try checked("\(budget + 1)", dictator)
        }
        #expect(throws: AuditLabelError.badLabeler) { try checked("A", slider, labeler: "  ") }
        #expect(throws: AuditLabelError.badLabeler) {
            try checked("A", slider, labeler: String(repeating: "x", count: 81))
        }
        #expect(throws: AuditLabelError.notAnItemReply(7)) { try checked("A", nil) }
        #expect(
            AuditLabelError.notAnItemReply(7).description
                == "call 7 is not an item reply; only item replies are labelled")
    }

    func pair(_ call: Int64, _ model: String, _ label: String, _ status: AnswerStatus, _ letter: OptionLetter?)
        -> AuditPair
    {
        AuditPair(
            callID: call, trialID: 1, model: model, labeler: "ada", label: label, labeledAt: "t", parserVersion: 2,
            status: status, shownLetter: letter)
    }

    @Test("agreement overall, by status and by model, with the disagreements listed")
    func agreement() throws {
        let pairs = [
            pair(1, "m1", "B", .ok, .b), pair(2, "m1", "C", .ok, .b), pair(3, "m2", "none", .noOption, nil),
            pair(4, "m2", "ambiguous", .conflict, nil), pair(5, "m2", "A", .ambiguous, nil),
        ]
        let result = ParserAudit.agreement(pairs)
        #expect(result.labels == 5 && result.agreed == 3)
        #expect(result.share == 0.6)
        #expect(result.byStatus.map(\.name) == ["ok", "no_option", "ambiguous", "conflict"])
        #expect(result.byStatus.map(\.agreed) == [1, 1, 0, 1])
        #expect(result.byModel.map(\.name) == ["m1", "m2"])
        #expect(result.byModel.map(\.labels) == [2, 3])
        #expect(result.disagreements.map(\.callID) == [2, 5])
        #expect(result.parserVersions == [2])
        let expected = ParserAudit.cohenKappa([
            ("B", "B"), ("B", "C"), ("none", "none"), ("ambiguous", "ambiguous"), ("ambiguous", "A"),
        ])
        #expect(result.kappa == expected)
        #expect(ParserAudit.agreement([]).share == nil)
    }

    @Test("a number the reader read is its label: agreement by instrument keeps the letter parser and it apart")
    func numberReadings() {
        #expect(ParserAudit.label(status: .ok, shownLetter: nil, number: 12) == "12")
        #expect(ParserAudit.label(status: .ok, shownLetter: nil, number: 0) == "0")
        #expect(ParserAudit.label(status: .noOption, shownLetter: nil, number: nil) == "none")
        func dictator(_ call: Int64, _ label: String, _ status: AnswerStatus, _ number: Int?) -> AuditPair {
            AuditPair(
                callID: call, trialID: 2, model: "m1", labeler: "ada", label: label, labeledAt: "t",
                parserVersion: 2, status: status, shownLetter: nil, number: number, instrument: "dictator")
        }
        let pairs = [
            pair(1, "m1", "B", .ok, .b), dictator(2, "12", .ok, 12), dictator(3, "8", .ok, 12),
            dictator(4, "none", .noOption, nil),
        ]
        let result = ParserAudit.agreement(pairs)
        #expect(result.agreed == 3)
        #expect(result.byInstrument.map(\.name) == ["slider", "dictator"])
        #expect(result.byInstrument.map(\.labels) == [1, 3])
        #expect(result.byInstrument.map(\.agreed) == [1, 2])
        #expect(result.disagreements.map(\.callID) == [3])
    }

    /// Item replies held in memory, answering as the store does, and counting what it is asked.
    final class Replies: ItemReplySource {
        let statuses: [Int64: AnswerStatus]
        let last: Int64
        let lookups = Mutex(0)
        let wholeStatuses = Mutex<[AnswerStatus]>([])

        init(_ calls: [(Int64, AnswerStatus)], last: Int64? = nil) {
            statuses = Dictionary(calls, uniquingKeysWith: { a, _ in a })
            self.last = last ?? calls.map(\.0).max() ?? 0
        }
        func lastCallID() async throws -> Int64 { last }
        func itemReplyStatuses(callIDs: [Int64], runIDs: [Int64]) async throws -> [Int64: AnswerStatus] {
            lookups.withLock { $0 += callIDs.count }
            return statuses.filter { callIDs.contains($0.key) }
        }
        func itemReplies(status: AnswerStatus, runIDs: [Int64]) async throws -> [Int64] {
            wholeStatuses.withLock { $0.append(status) }
            return statuses.filter { $0.value == status }.map(\.key).sorted()
        }
    }

    func draw(_ calls: [(Int64, AnswerStatus)], size: Int, seed: UInt64, probes: Int = 20_000) async throws
        -> [(AnswerStatus, [Int64])]
    {
        try await ParserAudit.sample(
            from: Replies(calls), ParserAudit.SampleSpec(runIDs: [1], perStatus: size, seed: seed), probes: probes)
    }

    @Test("the sample: at most N per status, a small status whole, the same for the same seed")
    func sampleShape() async throws {
        let calls: [(Int64, AnswerStatus)] =
            (1...200).map { (Int64($0), AnswerStatus.ok) } + (201...203).map { (Int64($0), .ambiguous) }
        let first = try await draw(calls, size: 10, seed: 7)
        #expect(first.map(\.0) == [.ok, .ambiguous])
        #expect(first[0].1.count == 10 && Set(first[0].1).count == 10)
        #expect(first[0].1.allSatisfy { (1...200).contains($0) })
        #expect(first[0].1 == first[0].1.sorted())
        #expect(first[1].1 == [201, 202, 203])
        #expect(try await draw(calls, size: 10, seed: 7).map(\.1) == first.map(\.1))
        #expect(try await draw(calls, size: 10, seed: 8)[0].1 != first[0].1)
        // A status's sample does not depend on how many replies the others have.
        let fewerAmbiguous = calls.filter { $0.1 == .ok } + [(201, .ambiguous)]
        #expect(try await draw(fewerAmbiguous, size: 10, seed: 7)[0].1 == first[0].1)
    }

    @Test("looked up in the seeded order or read whole, a status gets the same sample", arguments: [1, 2, 3, 99])
    func sampleByLookupOrWhole(seed: UInt64) async throws {
        // 5,000 replies: most ok, some ambiguous, three refusals, one empty, no conflict.
        let calls: [(Int64, AnswerStatus)] = (1...5_000).map { id in
            let status: AnswerStatus =
                [17, 2_222, 4_999].contains(id) ? .refusal : id == 3_001 ? .empty : id % 16 == 0 ? .ambiguous : .ok
            return (Int64(id), status)
        }
        let byLookup = Replies(calls)
        let spec = ParserAudit.SampleSpec(runIDs: [1], perStatus: 12, seed: seed)
        let looked = try await ParserAudit.sample(from: byLookup, spec, probes: 2_048)
        let whole = try await ParserAudit.sample(from: Replies(calls), spec, probes: 0)
        // A negative budget is no lookups at all, never a trap.
        let negative = try await ParserAudit.sample(from: Replies(calls), spec, probes: -5)
        #expect(negative.map(\.1) == whole.map(\.1))
        #expect(looked.map(\.0) == whole.map(\.0))
        #expect(looked.map(\.1) == whole.map(\.1))
        #expect(looked.map(\.0) == [.ok, .ambiguous, .refusal, .empty])
        #expect(looked[2].1 == [17, 2_222, 4_999] && looked[3].1 == [3_001])
        // The common statuses were found by lookups, not by reading them whole.
        let readWhole = byLookup.wholeStatuses.withLock { $0 }
        #expect(!readWhole.contains(.ok) && !readWhole.contains(.ambiguous))
        #expect(byLookup.lookups.withLock { $0 } <= 2_048)
    }

    @Test("the order of call ids is a bijection, and its inverse undoes it", arguments: [1, 2, 5, 10, 13])
    func callOrder(bits: Int) {
        for seed in [UInt64(0), 7, 20_231_127] {
            let order = ParserAudit.CallOrder(seed: seed, covering: (UInt64(1) << UInt64(bits)) - 1)
            #expect(order.size == UInt64(1) << UInt64(bits))
            let keys = (0..<Int64(order.size)).map { order.key(of: $0) }
            #expect(Set(keys).count == keys.count && keys.allSatisfy { $0 < order.size })
            #expect(keys.enumerated().allSatisfy { order.id(atKey: $1) == Int64($0) })
        }
        // A large id: both ways.
        let order = ParserAudit.CallOrder(seed: 5, covering: 1_008_000)
        #expect(order.size == 1 << 20)
        #expect(order.id(atKey: order.key(of: 987_654)) == 987_654)
    }

    @Test("replies are shown shuffled by the seed, not grouped by the parser's status")
    func presentationOrder() {
        let sample: [(AnswerStatus, [Int64])] = [(.ok, Array(1...10)), (.ambiguous, Array(11...20))]
        let order = ParserAudit.presentationOrder(sample, seed: 3)
        #expect(order.sorted() == Array(1...20))
        #expect(order != Array(1...20))
        #expect(!order.prefix(10).allSatisfy { $0 <= 10 })
        #expect(ParserAudit.presentationOrder(sample, seed: 3) == order)
        #expect(ParserAudit.presentationOrder(sample, seed: 4) != order)
    }

    @Test("each reply of a status is equally likely to be drawn")
    func sampleUniform() async throws {
        // 20 replies, 5 drawn, 4,000 seeds: each reply expected 1,000 times; a chi-square with 19
        // degrees of freedom above 43.8 happens with probability 0.001.
        let calls = (1...20).map { (Int64($0), AnswerStatus.ok) }
        var counts = [Int64: Int]()
        for seed in 0..<4_000 {
            for id in try await draw(calls, size: 5, seed: UInt64(seed))[0].1 { counts[id, default: 0] += 1 }
        }
        let chiSquare = (1...20).reduce(0.0) { sum, id in
            let observed = Double(counts[Int64(id)] ?? 0)
            return sum + (observed - 1_000) * (observed - 1_000) / 1_000
        }
        #expect(chiSquare < 43.8, "chi-square \(chiSquare): \(counts.sorted { $0.key < $1.key })")
        // Neither end of the id range is favoured or left out.
        #expect((counts[20] ?? 0) > 850 && (counts[1] ?? 0) > 850)
    }

    @Test("pairs of replies are drawn together as often as chance says: no two ids tied by the order")
    func samplePairs() async throws {
        // 12 replies, 2 drawn: each of the 66 pairs expected 6,000 / 66 times.
        let calls = (1...12).map { (Int64($0), AnswerStatus.ok) }
        var counts = [[Int64]: Int]()
        for seed in 0..<6_000 {
            counts[try await draw(calls, size: 2, seed: UInt64(seed))[0].1, default: 0] += 1
        }
        let expected = 6_000.0 / 66
        let chiSquare =
            counts.values.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            + Double(66 - counts.count) * expected
        // 65 degrees of freedom: the 99.9th percentile is 107.3.
        #expect(chiSquare < 107.3, "chi-square \(chiSquare)")
    }
}
