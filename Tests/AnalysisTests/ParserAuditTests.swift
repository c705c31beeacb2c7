import Foundation
import SVO
import Store
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

    func draw(_ calls: [(Int64, AnswerStatus)], size: Int, seed: UInt64) -> [(AnswerStatus, [Int64])] {
        let reservoirs = ParserAudit.Reservoirs(size: size, seed: seed)
        for (id, status) in calls { reservoirs.offer(id, status) }
        return reservoirs.drawn()
    }

    @Test("the sample: at most N per status, a small status whole, the same for the same seed")
    func sampleShape() {
        let calls: [(Int64, AnswerStatus)] =
            (1...200).map { (Int64($0), AnswerStatus.ok) } + (201...203).map { (Int64($0), .ambiguous) }
        let first = draw(calls, size: 10, seed: 7)
        #expect(first.map(\.0) == [.ok, .ambiguous])
        #expect(first[0].1.count == 10 && Set(first[0].1).count == 10)
        #expect(first[0].1.allSatisfy { (1...200).contains($0) })
        #expect(first[0].1 == first[0].1.sorted())
        #expect(first[1].1 == [201, 202, 203])
        #expect(draw(calls, size: 10, seed: 7).map(\.1) == first.map(\.1))
        #expect(draw(calls, size: 10, seed: 8)[0].1 != first[0].1)
        // A status's sample does not depend on how many replies the others have.
        let fewerAmbiguous = calls.filter { $0.1 == .ok } + [(201, .ambiguous)]
        #expect(draw(fewerAmbiguous, size: 10, seed: 7)[0].1 == first[0].1)
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
    func sampleUniform() {
        // 20 replies, 5 drawn, 4,000 seeds: each reply expected 1,000 times; a chi-square with 19
        // degrees of freedom above 43.8 happens with probability 0.001.
        let calls = (1...20).map { (Int64($0), AnswerStatus.ok) }
        var counts = [Int64: Int]()
        for seed in 0..<4_000 {
            for id in draw(calls, size: 5, seed: UInt64(seed))[0].1 { counts[id, default: 0] += 1 }
        }
        let chiSquare = (1...20).reduce(0.0) { sum, id in
            let observed = Double(counts[Int64(id)] ?? 0)
            return sum + (observed - 1_000) * (observed - 1_000) / 1_000
        }
        #expect(chiSquare < 43.8, "chi-square \(chiSquare): \(counts.sorted { $0.key < $1.key })")
        // The last replies are not favoured nor left out (algorithm R's classic off-by-one).
        #expect((counts[20] ?? 0) > 850 && (counts[1] ?? 0) > 850)
    }
}
