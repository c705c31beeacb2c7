import Domain
import Foundation
import SVO
import Store
import Testing

@testable import Analysis
@testable import Runner

@Suite("Steerability: the line of mean angle on θ*, and a report of targets")
struct SteerabilityUnitTests {
    @Test("least squares: an exact line, a flat line (slope 0, R² undefined), one x (no line), and noise")
    func leastSquares() throws {
        let exact = try #require(Statistics.leastSquares([(0, 1), (1, 3), (2, 5), (4, 9)]))
        #expect(exact.slope == 2 && exact.intercept == 1 && exact.rSquared == 1)
        // 30.47 ten times: its mean rounds, but the line is flat and explains nothing.
        let flat = try #require(Statistics.leastSquares((0..<10).map { (Double($0) * 7.7, 30.4655) }))
        #expect(flat.slope == 0 && flat.intercept == 30.4655 && flat.rSquared == nil)
        #expect(Statistics.leastSquares([(5, 1), (5, 2)]) == nil)
        #expect(Statistics.leastSquares([]) == nil)
        // y = x + (1, -1, 1, -1): slope 1 - 0.4, R² from the residuals.
        let noisy = try #require(Statistics.leastSquares([(0, 1), (1, 0), (2, 3), (3, 2)]))
        #expect(abs(noisy.slope - 0.6) < 1e-12 && abs(noisy.intercept - 0.6) < 1e-12)
        #expect(abs(noisy.rSquared! - 0.36) < 1e-12)
    }

    @Test("a report over values and targets agrees with vr_summary cell by cell, targets after values")
    func reportAgreesWithView() async throws {
        let fixture = try await ReportFixture(
            """
            name: mixed
            trials: 3
            values: [prosocial, competitive]
            targets: [60, -30]
            models:
              - name: noisy
                agent: noisy
              - name: stubborn
                agent: stubborn
                value: prosocial
            """)
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs),
            options: ReportOptions(groupBy: [.model, .value, .goal], resamples: 10))
        let view = try await fixture.store.vrSummary(runIDs: fixture.runIDs)
        #expect(report.cells.count == 2 * 4 * 2 && view.count == report.cells.count)
        #expect(
            report.cells.prefix(8).map { $0.group[1] } == [
                "prosocial", "prosocial", "competitive", "competitive", "phi=60", "phi=60", "phi=-30", "phi=-30",
            ])
        for cell in report.cells {
            let label = { (row: VRSummaryRow) in row.value ?? Assignment.target(row.targetPhi).label }
            let row = try #require(view.first { [$0.model, label($0), $0.goal] == cell.group })
            #expect(cell.n == row.n && cell.nComplete == row.nComplete)
            #expect(cell.meanVR.map { abs($0 - row.meanVR!) < 1e-9 } ?? (row.meanVR == nil))
            #expect(cell.meanAngle.map { abs($0 - row.meanAngle!) < 1e-9 } ?? (row.meanAngle == nil))
            // A target has no value to hit.
            #expect(cell.group[1].hasPrefix("phi=") ? cell.hitRate == nil && row.hitRate == nil : cell.hitRate != nil)
        }
        // Steerability counts the values at their own direction beside the targets: four points each.
        let trials = try await fixture.store.trialResults(TrialFilter(runIDs: fixture.runIDs))
        let steer = try #require(Steerability.build(trials, resamples: 10))
        #expect(steer.curves.map(\.points) == [4, 4, 4, 4])
        #expect(steer.points.prefix(4).map(\.target) == ["phi=60", "prosocial", "phi=-30", "competitive"])
        let stubborn = try #require(steer.curves.first { $0.model == "stubborn" })
        #expect(stubborn.slope == 0 && stubborn.rSquared == nil && stubborn.range == 0)
    }
}
