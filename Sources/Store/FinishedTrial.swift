/// Whether a trial ran to its end: `complete`, or `incomplete` (the model left an item
/// unanswered). `pending`, `running` and `failed` trials did not; a resume runs them. The one
/// statement of that rule in hvae's SQL (the views of migrations/0017 state it for sqlite3
/// users), in the two forms the queries' plans were measured with.
enum FinishedTrial {
    /// True when the trial status `status` (a column expression) is an end.
    static func ended(_ status: String) -> String { "(\(status) = 'complete' OR \(status) = 'incomplete')" }

    /// True when it is not: pending, running or failed (`trials.status` allows no other value).
    static func unended(_ status: String) -> String { "\(status) IN ('pending', 'running', 'failed')" }

    /// The status a trial is shown with: its score's (`complete` or `incomplete`, as the scores
    /// read then) once it ended, its own otherwise, so that a failed or unfinished trial's old
    /// scores never make it count as finished. `trial_results` (migrations/0017, 0019) states it
    /// for sqlite3 users; the queries that bound the versions read it from here.
    static func shownStatus(trial: String, score: String) -> String {
        "CASE WHEN \(score) IS NOT NULL AND \(ended(trial)) THEN \(score) ELSE \(trial) END"
    }
}
