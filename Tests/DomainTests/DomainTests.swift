import Foundation
import Testing

@testable import Domain

@Suite("Digests, seeds and steps")
struct DomainTests {
    @Test("SHA-256 of the NIST vectors, of text with a U+0000 in it, and of a file read in pieces")
    func digests() throws {
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // Every byte counts: a text cut at its NUL would hash as "a".
        #expect(Digest.sha256Hex("a\u{0}b") != Digest.sha256Hex("a"))
        #expect(Digest.sha256Hex("a\u{0}b") == Digest.sha256Hex(Data([0x61, 0x00, 0x62])))
        let path = FileManager.default.temporaryDirectory.appending(path: "digest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let big = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try big.write(to: URL(fileURLWithPath: path))
        #expect(try Digest.sha256Hex(fileAt: path) == Digest.sha256Hex(big))
    }

    @Test("a trial's seed is derived as every earlier run stored it")
    func seeds() {
        // The quickstart (seed 20230527), model "ideal", prosocial, with goal, original order,
        // trial 1: the seed that hvae 0.1.0's runs stored for this trial.
        let seed = TrialSeed.derive(runSeed: 20_230_527, ["ideal", "prosocial", "with", "original", "1"])
        #expect(seed == 2_951_061_302_533_004_241)
        #expect(TrialSeed.derive(runSeed: 20_230_527, ["ideal", "prosocial", "with", "original", "2"]) != seed)
    }

    @Test("a call step round-trips through its two columns; impossible pairs are refused")
    func steps() {
        for step in [CallStep.value, .goal, .item(1), .item(15), .item(24)] {
            #expect(CallStep(name: step.name, item: step.item) == step)
        }
        #expect(CallStep(name: "item", item: nil) == nil)
        #expect(CallStep(name: "value", item: 3) == nil)
        #expect(CallStep(name: "item", item: 0) == nil)
        #expect(CallStep.item(3).description == "item 3")
    }
}
