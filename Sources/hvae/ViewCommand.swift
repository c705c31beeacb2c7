import ArgumentParser
import Foundation
import Store
import Synchronization
import Viewer

struct ViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Browse runs, transcripts, calls and figures in a web browser; audit the parser.",
        discussion: """
            Serves the database read-only at http://127.0.0.1:8484/ until Ctrl-C: every run, its VR table and \
            figures, each trial's whole conversation with the option the parser read, every call (filtered, \
            with full-text search in replies), comparisons, and the parser audit, where people label a seeded \
            sample of replies and the page measures their agreement with the parser (Cohen's kappa). The \
            audit's labels are the only thing it writes (docs/viewer.md).

            It binds 127.0.0.1 only, unless --host names another address; then every request must carry \
            --token (or $HVAE_VIEW_TOKEN), and the URL printed includes it.

            --bundle DIR writes the same pages as static files instead (HTML, CSS, SVG; no server, no \
            network): open DIR/index.html from disk, or put the folder in a paper's supplementary material.

            Examples:
              hvae view
              hvae view --db study.sqlite --port 9000 --open
              hvae view --host 0.0.0.0 --token "$(openssl rand -hex 16)"
              hvae view --bundle supplement --run 1
            """
    )

    @Option(help: ArgumentHelp("The port to listen on (0 picks a free one).", valueName: "port"))
    var port = 8484

    @Option(help: ArgumentHelp("The address to bind.", valueName: "address"))
    var host = "127.0.0.1"

    @Option(
        help: ArgumentHelp(
            "A secret every request must carry; needed beyond 127.0.0.1. Defaults to $HVAE_VIEW_TOKEN.",
            valueName: "token"))
    var token: String?

    @Flag(help: "Open the viewer in the default browser (xdg-open or open).")
    var open = false

    @Option(help: ArgumentHelp("Write static pages into this folder instead of serving.", valueName: "folder"))
    var bundle: String?

    @Option(
        name: .customLong("run"),
        help: ArgumentHelp("With --bundle, the runs to include (repeatable; default every run).", valueName: "id"))
    var runIDs: [Int64] = []

    @OptionGroup var database: DatabaseOptions

    var effectiveToken: String? {
        token ?? ProcessInfo.processInfo.environment["HVAE_VIEW_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        if !runIDs.isEmpty && bundle == nil {
            throw ValidationError("--run chooses the runs of a --bundle; the server shows every run")
        }
        if bundle == nil, !ViewerServer.isLoopback(host), effectiveToken == nil {
            throw ValidationError(
                """
                binding \(host) lets other machines read the database: give --token SECRET (or set \
                $HVAE_VIEW_TOKEN), or keep the default --host 127.0.0.1
                """)
        }
        if let token = effectiveToken, token.count < 8 || token.contains(where: { !$0.isASCII || $0.isWhitespace }) {
            throw ValidationError("the token must be 8 or more ASCII characters without spaces")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let store = try openForReading(database)
            if let bundle {
                let folder = URL(fileURLWithPath: bundle)
                let outcome = try await ViewerBundle.write(store: store, runIDs: runIDs, to: folder)
                print(
                    "wrote \(outcome.files) files (\(outcome.bytes / 1024) KiB) to \(folder.path); open "
                        + folder.appending(path: "index.html").path)
                return
            }
            let site = ViewerSite(store: store, links: Links(.server), labelStore: labelStore(store))
            let server = ViewerServer(host: host, port: port, token: effectiveToken)
            let path = database.path
            let shown = host.contains(":") ? "[\(host)]" : host
            let token = effectiveToken
            let open = open
            // The costliest pages are rendered ahead while the server waits for its first visitor.
            let warming = Task(priority: .utility) { await site.warm() }
            defer { warming.cancel() }
            do {
                try await server.run(site) { bound in
                    let url = "http://\(shown):\(bound)/" + (token.map { "?token=\($0)" } ?? "")
                    announce("hvae view: \(path) at \(url) (read-only but for audit labels; Ctrl-C stops)")
                    if open { Self.openBrowser(url) }
                }
            } catch {
                let text = String(describing: error)
                if text.contains("Address already in use") || text.contains("EADDRINUSE") {
                    throw UserFacingError(
                        message: "port \(port) on \(host) is in use (another hvae view?); choose another with --port")
                }
                if text.contains("Cannot assign requested address") || text.contains("EADDRNOTAVAIL") {
                    throw UserFacingError(message: "\(host) is not an address of this machine; choose another --host")
                }
                throw error
            }
        }
    }

    /// The store audit labels are written through, opened for writing on the first label only.
    func labelStore(_ reader: ExperimentStore) -> @Sendable () throws -> ExperimentStore {
        let opened = Mutex<ExperimentStore?>(nil)
        let path = database.path
        let older = reader.migratedCopy != nil
        return {
            if older {
                throw UserFacingError(
                    message: "\(path) has an older schema: `hvae db migrate --db \(path)` upgrades it, then label")
            }
            return try opened.withLock { store in
                if let store { return store }
                let writer = try ExperimentStore(path: path, create: false, alreadyOpen: true)
                store = writer
                return writer
            }
        }
    }

    static func openBrowser(_ url: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        #if os(macOS)
            process.arguments = ["open", url]
        #else
            process.arguments = ["xdg-open", url]
        #endif
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        if (try? process.run()) == nil { printError("note: could not open a browser; open \(url)") }
    }
}
