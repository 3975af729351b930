import AtRestFUSE
import Foundation
import ServiceLifecycle

/// A mounted share as a `Service`: serves until unmounted; on graceful
/// shutdown (SIGTERM/SIGINT under `ServiceMain`) it first writes back what
/// open files still hold in the page cache, then unmounts.
public struct ShareMount: Service {
    public let mount: FUSEMount
    public let fileSystem: ShareFileSystem

    public init(mount: FUSEMount, fileSystem: ShareFileSystem) {
        self.mount = mount
        self.fileSystem = fileSystem
    }

    public func run() async throws {
        let mount = self.mount, fileSystem = self.fileSystem
        await withGracefulShutdownHandler {
            await mount.waitUntilUnmounted()
        } onGracefulShutdown: {
            Task {
                await fileSystem.writeBackAll()
                do { try mount.unmount() } catch { FileHandle.standardError.write(Data("atrest mount: \(error)\n".utf8)) }
            }
        }
    }
}
