import Foundation
import Testing
import Store
@testable import Analysis
@testable import Runner

@Suite("VR report and its formats")
struct ReportTests {
    /// A finished run of noisy and stubborn agents in a fresh database.
    func runOnce(seed: Int, in store: ExperimentStore) async throws -> Int64 {
        let experiment = try ExperimentFile.parse(yaml: """
            name: report
            seed: \(seed)
            trials: 4
            models:
              - name: noisy
                agent: noisy
              - name: stubborn
                agent: stubborn
                value: prosocial
            """)
        let runner = ExperimentRunner(store: store)
        let run = try await runner.createRun(experiment)
        _ = try await runner.execute(runID: run.id!, experiment: experiment,
                                     providers: try ProviderFactory.makeAll(experiment, transport: URLSessionTransport()))
        return run.id!
    }

    func scratchStore() throws -> (URL, ExperimentStore) {
        let directory = FileManager.default.temporaryDirectory.appending(path: "hvae-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (directory, try ExperimentStore(path: directory.appending(path: "r.sqlite").path))
    }

    @Test("the report of one run agrees with the vr_summary view")
    func agreesWithView() async throws {
        let (directory, store) = try scratchStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let runID = try await runOnce(seed: 1, in: store)
        let report = try await VRReport.build(store: store, runIDs: [runID])
        let view = try await store.vrSummary(runIDs: [runID])
        #expect(report.cells.count == view.count)
        #expect(report.cells.count == 16)
        for cell in report.cells {
            let row = try #require(view.first { $0.model == cell.model && $0.value == cell.value && $0.goal == cell.goal })
            #expect(cell.n == row.n)
            #expect(cell.nIncomplete == row.n - row.nComplete)
            #expect(abs(cell.meanVR! - row.meanVr!) < 1e-9)
            #expect(abs((cell.sdVR ?? 0) - (row.sdVr ?? 0)) < 1e-9)
            #expect(abs(cell.meanAngle! - row.meanAngle!) < 1e-9)
            #expect(abs(cell.hitRate! - row.hitRate!) < 1e-9)
        }
        // The study's order: models as listed, values A, P, I, C.
        #expect(report.cells.prefix(8).map(\.value) == ["altruistic", "altruistic", "prosocial", "prosocial",
                                                         "individualistic", "individualistic", "competitive", "competitive"])
    }

    @Test("several runs pool their trials per cell")
    func poolsRuns() async throws {
        let (directory, store) = try scratchStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = try await runOnce(seed: 1, in: store)
        let b = try await runOnce(seed: 2, in: store)
        let pooled = try await VRReport.build(store: store, runIDs: [a, b])
        let single = try await store.vrSummary(runIDs: [a, b])
        let cell = try #require(pooled.cells.first { $0.model == "noisy" && $0.value == "prosocial" && $0.goal == "with" })
        let parts = single.filter { $0.model == "noisy" && $0.value == "prosocial" && $0.goal == "with" }
        #expect(cell.n == 8)
        #expect(parts.count == 2)
        let expectedMean = parts.map { $0.meanVr! * Double($0.nComplete) }.reduce(0, +) / Double(parts.map(\.nComplete).reduce(0, +))
        #expect(abs(cell.meanVR! - expectedMean) < 1e-9)
    }

    @Test("csv, json, markdown and table carry the same numbers")
    func formatsAgree() async throws {
        let (directory, store) = try scratchStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let runID = try await runOnce(seed: 3, in: store)
        let report = try await VRReport.build(store: store, runIDs: [runID])

        let csvLines = ReportRenderer.render(report, as: .csv).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(csvLines.first == "model,value,goal,n,n_incomplete,mean_vr,sd_vr,mean_angle,hit_rate")
        #expect(csvLines.count == report.cells.count + 1)

        struct Document: Decodable { let run_ids: [Int64]; let cells: [VRCell] }
        let json = try JSONDecoder().decode(Document.self, from: Data(ReportRenderer.render(report, as: .json).utf8))
        #expect(json.cells == report.cells)
        #expect(json.run_ids == [runID])

        let markdown = ReportRenderer.render(report, as: .markdown)
        let table = ReportRenderer.render(report, as: .table)
        for (cell, line) in zip(report.cells, csvLines.dropFirst()) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(fields[0] == cell.model && fields[1] == cell.value && fields[2] == cell.goal)
            #expect(Double(fields[5])! == (cell.meanVR! * 100).rounded() / 100)
            let meanSD = ReportRenderer.meanSD(cell)
            #expect(markdown.contains("| \(cell.model) | \(cell.value) | \(cell.goal) | \(cell.n) | \(cell.nIncomplete) | \(meanSD) |"))
            #expect(table.contains(meanSD))
        }
    }

    @Test("CSV fields with commas, quotes and line breaks are quoted per RFC 4180")
    func csvQuoting() {
        #expect(CSV.record(["plain", "a,b", "say \"hi\"", "two\nlines", "crlf\r\nend", ""]) ==
                "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"crlf\r\nend\",\r\n")
    }

    @Test("statistics: mean and sample standard deviation")
    func statistics() {
        #expect(Statistics.mean([]) == nil)
        #expect(Statistics.mean([1, 2, 3, 4]) == 2.5)
        #expect(Statistics.sampleSD([5]) == nil)
        #expect(abs(Statistics.sampleSD([2, 4, 4, 4, 5, 5, 7, 9])! - 2.138089935299395) < 1e-12)
    }
}
