import Foundation
import Testing
@testable import SVO

@Suite("Slider items")
struct SliderItemTests {
    struct Row: Equatable { let item: Int; let kind: String; let option: String; let own: Int; let other: Int }

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
                return Row(item: item.number, kind: item.isPrimary ? "primary" : "secondary",
                           option: letter.symbol, own: a.own, other: a.other)
            }
        }
        #expect(generated == rows)
    }

    @Test("the bundled copy agrees with the specification folder when it is present")
    func bundledCopyMatchesSpec() throws {
        let spec = repositoryRoot.deletingLastPathComponent().appending(path: "shared/spec")
        for name in ["svo-slider-items.csv", "paper-figure-vr.csv"] {
            let specFile = spec.appending(path: name)
            guard FileManager.default.fileExists(atPath: specFile.path) else { continue }
            #expect(try Data(contentsOf: specFile) == Data(contentsOf: repositoryRoot.appending(path: "data/\(name)")))
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
