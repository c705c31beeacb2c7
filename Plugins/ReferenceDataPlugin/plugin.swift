import Foundation
import PackagePlugin

/// Embeds the reference data in `data/*.csv` as string constants, so a copied binary needs no
/// resource bundle and the CSV files stay the only copy.
@main
struct ReferenceDataPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let data = context.package.directoryURL.appending(path: "data")
        let files = try FileManager.default.contentsOfDirectory(at: data, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "csv" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedReferenceData.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) reference data files",
                executable: try context.tool(named: "MigrationsCodegen").url,
                arguments: ["--strings", output.path()] + files.map { $0.path() },
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
