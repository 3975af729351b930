import Glibc
import Testing
@testable import AtRestStorage

/// The store's Linux-only calls, through the CAtRestLinux shim.
@Suite struct LinuxFileCallsTests {
    private func write(_ path: String, _ text: String) {
        let f = fopen(path, "wb")!
        fputs(text, f)
        fclose(f)
    }

    private func read(_ path: String) -> String {
        String(decoding: TempDirectory().contents(path), as: UTF8.self)
    }

    @Test func exchangeSwapsTwoFilesAtomically() {
        let dir = TempDirectory()
        defer { dir.remove() }
        write("\(dir.path)/a", "first")
        write("\(dir.path)/b", "second")
        #expect(LinuxFileCalls.exchange("\(dir.path)/a", "\(dir.path)/b"))
        #expect(read("\(dir.path)/a") == "second")
        #expect(read("\(dir.path)/b") == "first")
        #expect(!LinuxFileCalls.exchange("\(dir.path)/a", "\(dir.path)/missing"))
        #expect(errno == ENOENT)
    }

    @Test func directIOIsTheArchitecturesFlagAndWritebackIsAHint() throws {
        #if arch(x86_64)
        #expect(LinuxFileCalls.directIO == 0o40000)
        #elseif arch(arm64)
        #expect(LinuxFileCalls.directIO == 0o200000)
        #endif
        let dir = TempDirectory()
        defer { dir.remove() }
        write("\(dir.path)/f", String(repeating: "x", count: 8192))
        let fd = open("\(dir.path)/f", O_RDWR)
        defer { close(fd) }
        LinuxFileCalls.startWriteback(fd, offset: 0, count: 8192)
        LinuxFileCalls.startWriteback(-1, offset: 0, count: 1)  // ignored, as documented
        #expect(read("\(dir.path)/f").count == 8192)
    }
}
