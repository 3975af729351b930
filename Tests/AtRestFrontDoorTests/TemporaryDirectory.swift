import Foundation

/// A private (0700) directory removed when the test value goes away.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ name: String) {
        path = NSTemporaryDirectory() + "atrest-\(name)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
