import Domain
import Foundation
import SVO
import Store
import Testing

@testable import Analysis
@testable import Runner

@Suite("Angles of different measures are never pooled: steerability, reliability and sensitivity split by instrument")
struct InstrumentSplitTests {
    /// An agent that pursues individualistic values whatever it is told: one angle per instrument.
    static let stubborn = """
        name: split
        trials: 2
        values: [prosocial]
        targets: [60, 0]
        goal: without
        instruments: [slider, ring]
        models:
          - name: stubborn
            agent: stubborn
            value: individualistic
        """

    @Test("steerability: a curve per instrument, each of its own angles; one measure keeps its table")
    func steerability() async throws {
        let fixture = try await ReportFixture(Self.stubborn)
        let trials = try await fixture.store.trialResults(TrialFilter(runIDs: fixture.runIDs))
        // The agent's one angle on each instrument, read from its trials.
        var angles: [String: Set<Double>] = [:]
        for trial in trials { angles[trial.key.instrument, default: []].insert(trial.angle!) }
        #expect(angles.count == 2 && angles.values.allSatisfy { $0.count == 1 })
        #expect(angles["slider"] != angles["ring"])
        let steer = try #require(Steerability.build(trials, resamples: 50))
        #expect(steer.curves.map(\.instrument) == ["slider", "ring"])
        for curve in steer.curves {
            let own = try #require(curve.instrument.flatMap { angles[$0]?.first })
            #expect(curve.points == 3 && curve.lowestAngle == own && curve.highestAngle == own && curve.slope == 0)
        }
        #expect(Set(steer.points.map(\.instrument)) == ["slider", "ring"] && steer.points.count == 6)
        #expect(steer.render(as: .csv).hasPrefix("model,instrument,goal,placement,points,"))
        #expect(steer.render(as: .table).contains("stubborn  ring"))
        // One measure: no instrument named, and the table it always had.
        let slider = try #require(Steerability.build(trials.filter { $0.key.instrument == "slider" }, resamples: 50))
        #expect(slider.curves.count == 1 && slider.curves[0].instrument == nil)
        #expect(slider.render(as: .csv).hasPrefix("model,goal,placement,points,"))
        #expect(!slider.render(as: .json).contains("\"instrument\""))
    }

    @Test("reliability: test-retest and split-half per instrument, and the notes say which")
    func reliability() async throws {
        let fixture = try await ReportFixture(Self.stubborn, seeds: [1, 1])
        let trials = try await fixture.store.trialResults(TrialFilter(runIDs: fixture.runIDs))
        let reliability = Reliability.build(trials, resamples: 50)
        #expect(reliability.retest.map(\.instrument) == ["slider", "ring"])
        // Every trial slot of an instrument, not of both: 3 assignments × 2 replicates.
        #expect(reliability.retest.allSatisfy { $0.subjects == 6 })
        #expect(reliability.splitHalf.map(\.instrument) == ["slider", "ring", "slider", "ring"])
        #expect(reliability.splitHalf.allSatisfy { $0.cells == 3 })
        #expect(reliability.notes.contains { $0.hasPrefix("split-half of stubborn on ring in run ") })
        #expect(reliability.render(as: .csv).hasPrefix("model,instrument,runs,"))
        let slider = Reliability.build(trials.filter { $0.key.instrument == "slider" }, resamples: 50)
        #expect(slider.retest.map(\.instrument) == [nil] && slider.retest[0].subjects == 6)
        #expect(slider.render(as: .csv).hasPrefix("model,runs,"))
    }

    @Test("sensitivity: the wording's spread per instrument")
    func sensitivity() async throws {
        let fixture = try await ReportFixture(
            """
            name: wording
            trials: 3
            values: [prosocial]
            goal: without
            instruments: [slider, slider-parallel]
            variants: [default, paraphrase]
            models:
              - name: noisy
                agent: noisy
            """)
        let trials = try await fixture.store.trialResults(TrialFilter(runIDs: fixture.runIDs))
        let sensitivity = try #require(Sensitivity.build(trials, resamples: 50))
        #expect(sensitivity.rows.map(\.instrument) == ["slider", "slider-parallel"])
        for row in sensitivity.rows {
            // The spread of this instrument's variants' mean angles, computed here from its trials.
            let own = trials.filter { $0.key.instrument == row.instrument && $0.status == .complete }
            let means = ["default", "paraphrase"].compactMap { variant in
                Statistics.mean(own.filter { $0.key.variant == variant }.compactMap(\.angle))
            }
            #expect(means.count == 2)
            #expect(
                row.variants.levels == 2
                    && row.variants.spread == means.max().flatMap { high in means.min().map { high - $0 } })
        }
        #expect(sensitivity.render(as: .csv).hasPrefix("model,instrument,value,variants,"))
    }
}
