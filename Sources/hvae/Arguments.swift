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
