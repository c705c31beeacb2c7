import Foundation
import GRDB
import Testing

@Suite("Steerability end to end: examples/steerability.yaml on the reference agents", .serialized)
struct SteerabilityTests {
    /// The curves of `report --steerability --format csv`, by "model goal".
    static func curves(_ csv: String) -> [String: [String: String]] {
        let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map(String.init)
        var curves: [String: [String: String]] = [:]
        for fields in lines.dropFirst() {
            let row = Dictionary(uniqueKeysWithValues: zip(header, fields.map(String.init)))
            curves["\(row["model"]!) \(row["goal"]!)"] = row
        }
        return curves
    }

    @Test("the sweep's report gives the acceptance figures, its trials store φ and θ*, and the figure draws them")
    func sweep() throws {
        let work = try WorkingDirectory()
        let run = try hvae(["run", repositoryRoot.appending(path: "examples/steerability.yaml").path], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("run 1: steerability, 1000 trials"))

        let report = try hvae(["report", "--steerability", "--format", "csv"], in: work.url)
        #expect(report.status == 0, "\(report.stderr)")
        let curves = Self.curves(report.stdout)
        #expect(curves.count == 10)
        for goal in ["with", "without"] {
            let ideal = try #require(curves["ideal \(goal)"])
            #expect(ideal["points"] == "10")
            #expect(String(format: "%.3f", Double(ideal["slope"]!)!) == "1.000")
            #expect(String(format: "%.3f", Double(ideal["r_squared"]!)!) == "1.000")
            #expect(abs(Double(ideal["mean_absolute_error"]!)!) < 1e-9)
            let stubborn = try #require(curves["stubborn-individualistic \(goal)"])
            #expect(Double(stubborn["slope"]!) == 0)
            #expect(stubborn["r_squared"] == "")  // undefined, not 1
            let fixed = try #require(curves["fixed-A \(goal)"])
            #expect(Double(fixed["slope"]!) == 0)
            #expect(String(format: "%.2f", Double(fixed["intercept"]!)!) == "30.47")
            #expect(Double(fixed["range"]!) == 0)
            let noisy = try #require(curves["noisy \(goal)"])
            #expect(Double(noisy["slope"]!)! > 0.7 && Double(noisy["slope"]!)! < 1)
        }

        // Through SQL: every trial is a target trial with its direction and θ*; the ideal agent's VR is 60.
        let queue = try DatabaseQueue(path: work.path("hvae.sqlite"))
        try queue.read { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM trials WHERE value IS NOT NULL") == 0)
            let phis = try Double.fetchAll(db, sql: "SELECT DISTINCT target_phi FROM trials ORDER BY 1")
            #expect(phis == [-45, -30, -15, 0, 15, 30, 45, 60, 75, 90])
            let idealVR = try Double.fetchAll(
                db, sql: "SELECT DISTINCT vr FROM trial_results WHERE model = 'ideal' AND status = 'complete'")
            #expect(idealVR == [60])
            let summary = try Row.fetchAll(
                db, sql: "SELECT target_phi, ideal_angle, n FROM vr_summary WHERE model = 'ideal' AND goal = 'with'")
            #expect(summary.count == 10 && summary.allSatisfy { $0["n"] == 10 && $0["target_phi"] != nil })
            // A target trial is told weights, never a value's name.
            let prompt = try String.fetchOne(
                db,
                sql: "SELECT prompt FROM call_log WHERE target_phi = 75 AND step = 'value' ORDER BY call_id LIMIT 1")
            #expect(prompt?.contains("3.73 times as much as each coin you get") == true)
            #expect(prompt?.contains("social value orientation") == false)
        }

        // The VR report names targets by their label; an export carries the columns.
        let table = try hvae(["report", "--model", "ideal"], in: work.url)
        #expect(table.stdout.contains("phi=-45") && table.stdout.contains("phi=90"))
        let export = try hvae(["export", "trials"], in: work.url)
        let header = export.stdout.components(separatedBy: "\r\n")[0]
        #expect(header.hasSuffix(",target_phi,ideal_angle"))

        let plot = try hvae(["plot", "steer", "-o", work.path("steer.svg")], in: work.url)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOfFile: work.path("steer.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("class=\"diagonal\""))
        // One point per model, goal condition and target, each at its mean angle.
        #expect(svg.components(separatedBy: "class=\"point\"").count - 1 == 100)
        #expect(
            svg.contains(
                "data-model=\"fixed-A\" data-goal=\"with\" data-target=\"phi=90\" "
                    + "data-ideal=\"61.39\" data-mean=\"30.47\""
            ))
        #expect(svg.contains("ideal: slope 1.00") || svg.contains("ideal, with goal: slope 1.00"))
    }

    @Test("a report of a run without targets is unchanged, and --steerability over its values gives four points")
    func values() throws {
        let work = try WorkingDirectory()
        let run = try hvae(["run", repositoryRoot.appending(path: "examples/quickstart.yaml").path], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try hvae(["report", "--steerability", "--format", "csv"], in: work.url)
        let curves = Self.curves(report.stdout)
        #expect(curves["ideal with"]?["points"] == "4")
        #expect(curves["ideal with"].map { String(format: "%.3f", Double($0["slope"]!)!) } == "1.000")
        #expect(curves["stubborn-prosocial without"]?["slope"] == "0.0")
        let bad = try hvae(["report", "--steerability", "--layout", "study"], in: work.url)
        #expect(bad.status != 0 && bad.stderr.contains("--steerability has its own tables"))
    }
}
