import Domain
import Foundation
import SVO
import Store

/// How far a model moves as the target moves (method.md §8.3), per model, goal condition and
/// persona placement: its
/// mean angle at each target (or value) against that target's ideal angle θ*, the least-squares
/// line through those points, and how far its trials land from θ* on average. A model that sits at
/// 30° whatever it is told has slope 0; one that hits every θ* has slope 1 and R² 1.
public struct Steerability: Sendable, Equatable {
    /// One target (or value) of one model and goal condition.
    public struct Point: Sendable, Equatable, Codable {
        public var model: String
        /// The instrument, when the trials hold more than one measure (never pooled); nil otherwise.
        public var instrument: String?
        public var goal: String
        public var placement: String
        /// The value's name or the target's label (`Assignment.label`).
        public var target: String
        /// φ, in degrees.
        public var direction: Double
        /// θ* of φ.
        public var idealAngle: Double
        /// Trials told this target, whatever their status, and those with an angle.
        public var n: Int
        public var nComplete: Int
        /// Mean angle of the complete trials, with its percentile bootstrap interval (nil below
        /// `Statistics.intervalMinimum` complete trials).
        public var meanAngle: Double?
        public var ciLow: Double?
        public var ciHigh: Double?

        /// Whether the mean has too few complete trials behind it for an interval.
        public var tooFewForInterval: Bool { meanAngle != nil && !Statistics.supportsInterval([nComplete]) }

        enum CodingKeys: String, CodingKey {
            case model, instrument, goal, placement, target, direction, n
            case idealAngle = "ideal_angle"
            case nComplete = "n_complete"
            case meanAngle = "mean_angle"
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
        }
    }

    /// The line through one model and goal condition's points.
    public struct Curve: Sendable, Equatable, Encodable {
        public var model: String
        /// The instrument, when the trials hold more than one measure (never pooled); nil otherwise.
        public var instrument: String?
        public var goal: String
        public var placement: String
        /// Targets with a mean angle: the points the line is fitted to.
        public var points: Int
        /// Least squares of mean angle on θ*, each point weighing the same; nil with fewer than two
        /// distinct θ*.
        public var slope: Double?
        public var intercept: Double?
        /// Share of the mean angles' variance the line explains; nil when they do not vary (a
        /// flat line explains nothing and misses nothing: undefined, not 1).
        public var rSquared: Double?
        /// Mean |θ − θ*| over the complete trials (each trial's stored angular error).
        public var meanAbsoluteError: Double?
        /// The lowest and highest mean angle reached, and their difference.
        public var lowestAngle: Double?
        public var highestAngle: Double?
        public var range: Double? { highestAngle.flatMap { high in lowestAngle.map { high - $0 } } }

        enum CodingKeys: String, CodingKey {
            case model, instrument, goal, placement, points, slope, intercept, range
            case rSquared = "r_squared"
            case meanAbsoluteError = "mean_absolute_error"
            case lowestAngle = "lowest_angle"
            case highestAngle = "highest_angle"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(goal, forKey: .goal)
            try c.encode(placement, forKey: .placement)
            try c.encode(points, forKey: .points)
            try c.encode(slope, forKey: .slope)
            try c.encode(intercept, forKey: .intercept)
            try c.encode(rSquared, forKey: .rSquared)
            try c.encode(meanAbsoluteError, forKey: .meanAbsoluteError)
            try c.encode(lowestAngle, forKey: .lowestAngle)
            try c.encode(highestAngle, forKey: .highestAngle)
            try c.encode(range, forKey: .range)
        }
    }

    public var points: [Point]
    public var curves: [Curve]
    /// The level of the intervals (`--confidence`).
    public var confidence: Double = 0.95

    /// The curves of `trials`: one per model (as they first appear), instrument (when the trials
    /// hold more than one measure, whose angles are never pooled), goal condition and placement,
    /// its points from the largest direction down. Nil when no trials are given. (Option orders
    /// are pooled, as in every report: the position-bias table measures them.)
    public static func build(
        _ trials: [TrialResult], resamples: Int = 10_000, confidence: Double = 0.95,
        seed: UInt64 = 20_230_527
    )
        -> Steerability?
    {
        guard !trials.isEmpty else { return nil }
        var points: [Point] = []
        var curves: [Curve] = []
        // Angles of different measures are never pooled (as in every report): with more than one,
        // each instrument has its own curves.
        let split = InstrumentSplit.splits(trials)
        let dimensions: [ReportDimension] =
            split ? [.model, .instrument, .goal, .placement] : [.model, .goal, .placement]
        for own in TrialGroups(trials, by: dimensions).members {
            let (model, goal, placement) = (own[0].key.model, own[0].key.goal, own[0].key.placement)
            let instrument = split ? own[0].key.instrument : nil
            // Largest direction first; a value before a target of the same direction.
            let cells = TrialGroups(own, by: [.value]).members.sorted { first, second in
                let (a, b) = (first[0].key.assignment, second[0].key.assignment)
                if a.direction != b.direction { return a.direction > b.direction }
                return a < b
            }
            var fitted: [(x: Double, y: Double)] = []
            for cell in cells {
                let target = cell[0].key.assignment
                let angles: [Double] = cell.filter { $0.status == .complete }.compactMap { $0.angle }
                let interval = Statistics.bootstrapInterval(
                    angles, resamples: resamples, confidence: confidence,
                    seed: SplitMix64.mix(
                        seed,
                        Statistics.stableHash(
                            InstrumentSplit.seedParts(
                                model, instrument, [goal.rawValue, placement.rawValue, target.label]))))
                let point = Point(
                    model: model, instrument: instrument, goal: goal.rawValue, placement: placement.rawValue,
                    target: target.label,
                    direction: target.direction,
                    idealAngle: target.idealAngle, n: cell.count, nComplete: angles.count,
                    meanAngle: Statistics.mean(angles), ciLow: interval?.low, ciHigh: interval?.high)
                points.append(point)
                if let mean = point.meanAngle { fitted.append((point.idealAngle, mean)) }
            }
            let line = Statistics.leastSquares(fitted)
            let errors = own.filter { $0.status == .complete }.compactMap(\.angularError)
            curves.append(
                Curve(
                    model: model, instrument: instrument, goal: goal.rawValue, placement: placement.rawValue,
                    points: fitted.count,
                    slope: line?.slope,
                    intercept: line?.intercept, rSquared: line?.rSquared,
                    meanAbsoluteError: Statistics.mean(errors), lowestAngle: fitted.map(\.y).min(),
                    highestAngle: fitted.map(\.y).max()))
        }
        return Steerability(points: points, curves: curves, confidence: confidence)
    }

    /// The curves, then the points, as one of the report formats (CSV and JSON: the curves; the
    /// points are `hvae report --by model,value,goal`'s mean angles, and JSON carries both).
    public func render(as format: ReportFormat) -> String {
        let f = ReportRenderer.fixed
        let e = ReportRenderer.exact
        let instrumentColumn = InstrumentSplit.header(curves.map(\.instrument))
        func instrumentCell(_ instrument: String?) -> [String] { InstrumentSplit.cell(instrument, instrumentColumn) }
        switch format {
        case .json:
            struct Document: Encodable {
                let curves: [Curve]
                let points: [Point]
            }
            return prettyJSON(Document(curves: curves, points: points))
        case .csv:
            return CSV.document(
                header: ["model"] + instrumentColumn + [
                    "goal", "placement", "points", "slope", "intercept", "r_squared", "mean_absolute_error",
                    "lowest_angle", "highest_angle", "range",
                ],
                rows: curves.map {
                    [$0.model] + instrumentCell($0.instrument) + [
                        $0.goal, $0.placement, String($0.points), e($0.slope), e($0.intercept),
                        e($0.rSquared),
                        e($0.meanAbsoluteError), e($0.lowestAngle), e($0.highestAngle), e($0.range),
                    ]
                })
        case .table, .markdown, .latex, .html:
            let shift = instrumentColumn.count
            let curveTable = HumanTable(
                header: ["model"] + instrumentColumn + [
                    "goal", "placement", "targets", "slope", "intercept", "R²", "mean |θ−θ*|", "θ reached", "range",
                ],
                rows: curves.map { curve in
                    [curve.model] + instrumentCell(curve.instrument) + [
                        curve.goal, curve.placement, String(curve.points), f(curve.slope).orDash,
                        f(curve.intercept).orDash, f(curve.rSquared).orDash, f(curve.meanAbsoluteError).orDash,
                        curve.lowestAngle.map { String(format: "%.2f to %.2f", $0, curve.highestAngle!) } ?? "–",
                        f(curve.range).orDash,
                    ]
                }, numeric: Set([3, 4, 5, 6, 7, 9].map { $0 + shift }),
                notes: [
                    "slope, intercept, R²: least squares of each target's mean angle on its ideal angle θ*; "
                        + "R² – when the mean angles do not vary."
                ])
            let pointTable = HumanTable(
                header: ["model"] + instrumentColumn + [
                    "goal", "placement", "target", "φ", "θ*", "n", "mean θ", ReportRenderer.intervalHeader(confidence),
                ],
                rows: points.map { point in
                    [point.model] + instrumentCell(point.instrument) + [
                        point.goal, point.placement, point.target, Assignment.format(point.direction),
                        f(point.idealAngle),
                        "\(point.nComplete) / \(point.n)", f(point.meanAngle).orDash,
                        ReportRenderer.interval(
                            point.ciLow, point.ciHigh, tooFew: point.tooFewForInterval, missing: "–"),
                    ]
                }, numeric: Set([4, 5, 6, 7, 8].map { $0 + shift }),
                notes: ["n: complete trials / trials; the interval is a percentile bootstrap of the mean angle."]
                    + (points.contains(where: \.tooFewForInterval) ? [ReportRenderer.tooFewNote] : []))
            let gap =
                switch format {
                case .latex: "\n\\medskip\n"
                case .html: "\n"
                default: "\n"
                }
            return curveTable.render(format) + gap + pointTable.render(format)
        }
    }
}

extension String {
    /// "–" for an empty (undefined) figure.
    fileprivate var orDash: String { isEmpty ? "–" : self }
}
