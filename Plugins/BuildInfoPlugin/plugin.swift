import Foundation
import PackagePlugin

/// Records, at every build, the git commit the binary is built from, so each run can say exactly
/// which code produced it ("unknown" when not built from a git checkout).
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.swift")
        let repository = context.package.directoryURL.path()
        // A prebuild command runs on every build, so a new commit is always picked up.
        let script = """
            commit=$(git -C '\(repository)' rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$commit" != unknown ] && [ -n "$(git -C '\(repository)' status --porcelain --untracked-files=no \
            2>/dev/null)" ]; then commit="$commit-dirty"; fi
            new="// Generated at build time. Do not edit.
            let buildGitCommit = \\"$commit\\"
            "
            if [ ! -f '\(output.path())' ] || [ "$(cat '\(output.path())')" != "$new" ]; then printf '%s' "$new" > \
            '\(output.path())'; fi
            """
        return [
            .prebuildCommand(
                displayName: "Recording the git commit",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script],
                outputFilesDirectory: context.pluginWorkDirectoryURL
            )
        ]
    }
}
