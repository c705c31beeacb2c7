import Analysis
import ArgumentParser
import Domain
import SVO
import Store

// The enumerations commands take, read from the command line by their raw values.

extension ReportLayout: ExpressibleByArgument {}
extension ReportFormat: ExpressibleByArgument {}
extension ExportTable: ExpressibleByArgument {}
extension ExportFormat: ExpressibleByArgument {}
extension ValueOrientation: ExpressibleByArgument {}
extension GoalCondition: ExpressibleByArgument {}
extension OptionOrder: ExpressibleByArgument {}

/// `--confidence`: the level of every bootstrap interval a command prints, checked in one place.
struct ConfidenceOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The level of every confidence interval, from 0.5 to 0.999 (0.9 for 90% intervals).",
            valueName: "level"))
    var confidence = 0.95

    func validate() throws {
        guard (0.5...0.999).contains(confidence) else {
            throw ValidationError(
                "--confidence: a level from 0.5 to 0.999, such as 0.95 for 95% intervals; found \(confidence)")
        }
    }
}
