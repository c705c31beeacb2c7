import Foundation
import Testing

@testable import Analysis

@Suite("The study's published values")
struct PaperResultsTests {
    @Test("the embedded table is the data/ file, parsed")
    func embedded() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "data/paper-figure-vr.csv")
        #expect(paperFigureVrCsv == (try String(contentsOf: file, encoding: .utf8)))
        let study = PaperResults.study
        #expect(
            study.models == [
                "ChatGPT", "GPT-3.5", "GPT-4", "Claude", "LLaMA-13B", "Alpaca-13B", "Vicuna-13B", "Koala-13B",
            ])
        #expect(
            study.values["GPT-4"]?["with"] == [
                "altruistic": 60, "individualistic": 60, "prosocial": 60, "competitive": 60,
            ])
        #expect(study.values["Vicuna-13B"]?["without"]?["competitive"] == 8)
    }
}
