import Foundation

/// A fresh directory for one test's database files, removed when the value is released.
final class ScratchDirectory {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appending(path: "hvae-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appending(path: name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}
