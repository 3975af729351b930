import Glibc
import Testing
@testable import AtRestLocalState

/// The one file-system helper every service and the object store use.
@Suite struct LocalFileTests {
    private func withDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/atrest-localfile-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        try body(dir)
    }

    @Test func makeDirectoryCreatesMissingParentsPrivately() throws {
        try withDirectory { dir in
            try LocalFile.makeDirectory("\(dir)/a/b/c")
            try LocalFile.makeDirectory("\(dir)/a/b/c")  // already there: fine
            var info = stat()
            #expect(stat("\(dir)/a/b/c", &info) == 0 && info.st_mode & 0o777 == 0o700)
            #expect(stat("\(dir)/a", &info) == 0 && info.st_mode & 0o777 == 0o700)
            #expect(try LocalFile.createExclusive([1], at: "\(dir)/file"))
            #expect(throws: LocalStateError.self) { try LocalFile.makeDirectory("\(dir)/file/sub") }
        }
    }

    @Test func listNamesEntriesAndNilForAMissingDirectory() throws {
        try withDirectory { dir in
            #expect(try LocalFile.list("\(dir)/missing") == nil)
            #expect(try LocalFile.list(dir) == [])
            #expect(try LocalFile.createExclusive([1], at: "\(dir)/x"))
            try LocalFile.makeDirectory("\(dir)/y")
            #expect(try LocalFile.list(dir)?.sorted() == ["x", "y"])
            #expect(try LocalFile.createExclusive([1], at: "\(dir)/z"))
            #expect(throws: LocalStateError.self) { try LocalFile.list("\(dir)/z") }
        }
    }

    @Test func retryingNamesTheOperationAndPath() throws {
        #expect(try LocalFile.retrying("probing", "/x") { 7 } == 7)
        var failure: LocalStateError?
        do throws(LocalStateError) {
            try LocalFile.retrying("opening", "/nonexistent/f") { open("/nonexistent/f", O_RDONLY) }
        } catch { failure = error }
        #expect(failure?.code == .io)
        #expect(failure?.message.contains("opening '/nonexistent/f' failed: No such file or directory") == true)
    }

    @Test func writeAllWritesEveryByte() throws {
        try withDirectory { dir in
            let fd = open("\(dir)/w", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
            try bytes.withUnsafeBytes { buffer in try LocalFile.writeAll(fd, raw: buffer, path: "\(dir)/w") }
            close(fd)
            #expect(try LocalFile.read("\(dir)/w") == bytes)
        }
    }
}
