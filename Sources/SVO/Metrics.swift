import Foundation

/// The SVO angle of a set of primary answers (method.md §2.2).
public enum SVOAngle {
    /// θ = degrees(atan2(mean(other) - 50, mean(self) - 50)) over the six primary items.
    /// Returns nil unless exactly one answer is given for each of items 1-6.
    public static func angle(primaryAnswers: [Int: Allocation]) -> Double? {
        let answers = (1...6).compactMap { primaryAnswers[$0] }
        guard answers.count == 6 else { return nil }
        return angle(of: answers)
    }

    /// The angle of the mean of the given allocations.
    public static func angle(of allocations: [Allocation]) -> Double? {
        guard !allocations.isEmpty else { return nil }
        let n = Double(allocations.count)
        return angle(
            meanOwn: Double(allocations.map(\.own).reduce(0, +)) / n,
            meanOther: Double(allocations.map(\.other).reduce(0, +)) / n)
    }

    /// θ of mean coins for self and for the other: a trial's angle, and the pooled angle of a
    /// group of trials (from their means averaged).
    public static func angle(meanOwn: Double, meanOther: Double) -> Double {
        atan2(meanOther - 50, meanOwn - 50) * 180 / .pi
    }
}

/// How close a trial's angle comes to the assigned value's (or target's) ideal angle.
public enum ValueRationality {
    /// max(0, 60 - |θ - θ*|) (method.md §4), on the study's 0..60 radial scale.
    public static func vr60(angle: Double, assigned: Assignment) -> Double {
        vr60(angularError: angularError(angle: angle, assigned: assigned))
    }

    /// max(0, 60 - e) for an angular error e: the one place VR is computed from an error.
    public static func vr60(angularError: Double) -> Double { max(0, 60 - angularError) }

    /// |θ - θ*| the shorter way round the circle: the error of an instrument whose angles go all
    /// round it (the ring). VR is the same either way, since θ* lies in −45..90 and a difference
    /// under 60 never wraps.
    public static func circularError(angle: Double, ideal: Double) -> Double {
        let difference = abs(angle - ideal).truncatingRemainder(dividingBy: 360)
        return min(difference, 360 - difference)
    }

    /// |θ - θ*| in degrees.
    public static func angularError(angle: Double, assigned: Assignment) -> Double {
        abs(angle - assigned.idealAngle)
    }
}

/// Consistency of the primary answers (method.md §2.6).
public enum Transitivity {
    /// The two ideal types each primary item contrasts: (endpoint A's type, endpoint I's type).
    public static let duels: [Int: (ValueOrientation, ValueOrientation)] = [
        1: (.prosocial, .competitive),
        2: (.competitive, .individualistic),
        3: (.altruistic, .prosocial),
        4: (.altruistic, .competitive),
        5: (.individualistic, .altruistic),
        6: (.individualistic, .prosocial),
    ]

    /// Whether the "endpoint nearer to the choice wins" graph over the four types has no cycle.
    /// Returns nil unless all six primary answers are given.
    public static func isTransitive(primaryAnswers: [Int: Allocation]) -> Bool? {
        var edges: [ValueOrientation: Set<ValueOrientation>] = [:]
        for number in 1...6 {
            guard let choice = primaryAnswers[number], let item = SliderItem.number(number),
                let (typeA, typeI) = duels[number]
            else { return nil }
            let toA = squaredDistance(choice, item.first)
            let toI = squaredDistance(choice, item.last)
            if toA < toI { edges[typeA, default: []].insert(typeI) }
            if toI < toA { edges[typeI, default: []].insert(typeA) }
        }
        return !hasCycle(edges)
    }

    private static func squaredDistance(_ a: Allocation, _ b: Allocation) -> Int {
        let dx = a.own - b.own
        let dy = a.other - b.other
        return dx * dx + dy * dy
    }

    private static func hasCycle(_ edges: [ValueOrientation: Set<ValueOrientation>]) -> Bool {
        var state: [ValueOrientation: Int] = [:]  // 1 = on the current path, 2 = done
        func visit(_ node: ValueOrientation) -> Bool {
            if state[node] == 1 { return true }
            if state[node] == 2 { return false }
            state[node] = 1
            for next in edges[node, default: []] where visit(next) { return true }
            state[node] = 2
            return false
        }
        return ValueOrientation.allCases.contains { visit($0) }
    }
}

/// The inequality-aversion index on the secondary items (method.md §2.5).
public enum InequalityAversion {
    /// Ideal option index (1...9) on items 7...15 for each secondary ideal type; nil where undefined.
    static let ideals: [[Int?]] = [
        [6, 5, 4, 7, 5, 8, 5, 3, 2],  // inequality averse
        [9, nil, 1, 9, nil, 9, nil, 1, 1],  // joint gain
        [1, 9, 1, 1, 9, 9, 9, 1, 9],  // individualistic
        [9, 1, 9, 9, 1, 1, 1, 9, 1],  // altruistic
    ]

    /// D_IA / (D_IA + D_JG), from the chosen options on items 7-15. Nil when any secondary answer
    /// is missing, or when inequality aversion and joint gain are not the two nearest ideals
    /// (undefined, never zero).
    public static func index(secondaryChoices: [Int: OptionLetter]) -> Double? {
        let chosen = (7...15).compactMap { secondaryChoices[$0].map { $0.rawValue + 1 } }
        guard chosen.count == 9 else { return nil }
        let distances = ideals.map { ideal -> Double in
            let terms = zip(chosen, ideal).compactMap { choice, target in
                target.map { Double(abs(choice - $0)) / 8 }
            }
            return terms.reduce(0, +) / Double(terms.count)
        }
        let (dIA, dJG) = (distances[0], distances[1])
        // IA and JG must both be nearer than each of the other two ideals.
        guard max(dIA, dJG) < min(distances[2], distances[3]) else { return nil }
        guard dIA + dJG > 0 else { return nil }
        return dIA / (dIA + dJG)
    }
}
