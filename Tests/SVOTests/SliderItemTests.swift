import Domain
import Foundation
import Testing

@testable import SVO

@Suite("Slider items")
struct SliderItemTests {
    struct Row: Equatable {
        let item: Int
        let kind: String
        let option: String
        let own: Int
        let other: Int
    }

    func groundTruth() throws -> [Row] {
        let lines = try readRepositoryFile("data/svo-slider-items.csv").split(whereSeparator: \.isNewline)
        #expect(lines.first == "item,kind,option,self,other")
        return lines.dropFirst().map { line in
            let f = line.split(separator: ",").map(String.init)
            return Row(item: Int(f[0])!, kind: f[1], option: f[2], own: Int(f[3])!, other: Int(f[4])!)
        }
    }

    @Test("all 135 generated options equal the published table")
    func everyOptionMatchesTheCSV() throws {
        let rows = try groundTruth()
        #expect(rows.count == 135)
        let generated = SliderItem.all.flatMap { item in
            OptionLetter.allCases.map { letter in
                let a = item.allocation(letter)
                return Row(
                    item: item.number, kind: item.isPrimary ? "primary" : "secondary",
                    option: letter.symbol, own: a.own, other: a.other)
            }
        }
        #expect(generated == rows)
    }

    /// The SHA-256 of each bundled file as copied from the specification (shared/spec): a change
    /// to either file fails here, whether or not the specification folder is on this machine.
    static let specDigests = [
        "svo-slider-items.csv": "8aacc335c58d847269ce9bf7bcd782da928a8612a06356723444888b348ca07a",
        "paper-figure-vr.csv": "33950cb823c7288f3d5c15f610bb5e1170387dcefab07f7ce10e321d92162760",
    ]

    @Test("the bundled copies are the specification's files, byte for byte")
    func bundledCopyMatchesSpec() throws {
        for (name, digest) in Self.specDigests {
            let data = try Data(contentsOf: repositoryRoot.appending(path: "data/\(name)"))
            #expect(Digest.sha256Hex(data) == digest, "data/\(name)")
        }
    }

    @Test("rounding is half up: 92.5 becomes 93, not banker's 92")
    func halfUpRounding() {
        #expect(SliderItem.roundHalfUp(92.5) == 93)
        #expect(SliderItem.roundHalfUp(93.5) == 94)
        #expect(SliderItem.roundHalfUp(92.375) == 92)
        // Item 2, option E lies at (92.5, 32.5).
        #expect(SliderItem.number(2)!.allocation(.e) == Allocation(own: 93, other: 33))
    }

    @Test("an item is recognised from its options in any order")
    func matchingByOptions() {
        let item = SliderItem.number(9)!
        #expect(SliderItem.matching(options: item.options.reversed()) == item)
        #expect(SliderItem.matching(options: Array(item.options.dropLast())) == nil)
    }

    @Test("option orders relabel letters but keep every payoff")
    func optionOrders() {
        let item = SliderItem.number(3)!
        let reversed = OptionOrder.reversed.layout(of: item, seed: 1)
        #expect(reversed.realOption(shown: .a) == .i)
        #expect(reversed.shownLetter(of: .i) == .a)
        for order in OptionOrder.allCases {
            for seed: UInt64 in [1, 2, 99] {
                let layout = order.layout(of: item, seed: seed)
                #expect(Set(layout.shownOptions.map(\.allocation)) == Set(item.options))
                for letter in OptionLetter.allCases {
                    #expect(layout.shownLetter(of: layout.realOption(shown: letter)) == letter)
                }
            }
        }
        let a = OptionOrder.shuffled.layout(of: item, seed: 7)
        #expect(a == OptionOrder.shuffled.layout(of: item, seed: 7))
        let seeds: [UInt64] = Array(1...20)
        let distinct = Set(seeds.map { OptionOrder.shuffled.layout(of: item, seed: $0).realOptionAtShownPosition })
        #expect(distinct.count > 15)
    }
}
