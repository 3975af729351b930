import Foundation
import Glibc

/// fsx-style random operations on one file in a directory under test (a
/// FUSE mount) and on a reference file in a local directory: writes (with
/// holes), reads, truncates, renames, reopens, unlinks and fsyncs, compared
/// (size and every byte) after every step. Used by the FUSE wrapper's and
/// the share mount's tests; returns what went wrong instead of asserting.
public struct RandomFileOperations {
    public struct Outcome: Sendable {
        /// Empty when every step matched; otherwise what differed or failed (the run stops at the first content mismatch).
        public var problems: [String] = []
        /// Operations run, by kind ("write", "read", "truncate", "rename", "reopen", "unlink", "fsync").
        public var counts: [String: Int] = [:]
        /// The file's last name (in both directories: "fsx-N" and "ref-N").
        public var testedName = ""
        public var referencePath = ""
    }

    private struct Pair {
        var tested: Int32
        var reference: Int32
        var testedPath: String
        var referencePath: String

        static func create(_ tested: String, _ reference: String) -> Pair? {
            let a = open(tested, O_RDWR | O_CREAT | O_EXCL, 0o644)
            let b = open(reference, O_RDWR | O_CREAT | O_EXCL, 0o644)
            guard a >= 0, b >= 0 else { return nil }
            return Pair(tested: a, reference: b, testedPath: tested, referencePath: reference)
        }

        func close() -> Bool { Glibc.close(tested) == 0 && Glibc.close(reference) == 0 }

        func size(_ fd: Int32) -> Int {
            var info = stat()
            return fstat(fd, &info) == 0 ? Int(info.st_size) : -1
        }

        func read(_ fd: Int32, offset: Int, count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n >= 0 ? Array(bytes.prefix(n)) : nil
        }
    }

    public static func run(tested directory: String, reference work: String, seed: UInt64, steps: Int, maxSize: Int = 256 * 1024) -> Outcome {
        var outcome = Outcome()
        var random = SplitMix(seed: seed)
        var generation = 0
        func names() -> (String, String) { ("\(directory)/fsx-\(generation)", "\(work)/ref-\(generation)") }
        func fail(_ text: String) { outcome.problems.append("\(text) (seed \(seed))") }
        guard var pair = Pair.create(names().0, names().1) else {
            fail("create \(names().0): errno \(errno)")
            return outcome
        }
        for step in 0..<steps {
            let choice = Int(random.next() % 100)
            let size = pair.size(pair.reference)
            var operation: String
            switch choice {
            case 0..<30, 90..<100:
                // Anywhere, or past the end (a hole), up to 64 KiB.
                let offset = choice >= 90 ? min(size + Int(random.next() % 8192), maxSize - 1) : Int(random.next() % UInt64(maxSize))
                let count = 1 + Int(random.next() % UInt64(min(65_536, maxSize - offset)))
                let bytes = random.bytes(count)
                operation = "write \(offset)+\(count)"
                let a = bytes.withUnsafeBytes { pwrite(pair.tested, $0.baseAddress, count, off_t(offset)) }
                let b = bytes.withUnsafeBytes { pwrite(pair.reference, $0.baseAddress, count, off_t(offset)) }
                if a != count || b != count { fail("step \(step) \(operation): wrote \(a), errno \(errno)") }
            case 30..<50:
                let offset = Int(random.next() % UInt64(maxSize + 4096))
                let count = 1 + Int(random.next() % 65_536)
                operation = "read \(offset)+\(count)"
                let a = pair.read(pair.tested, offset: offset, count: count)
                let b = pair.read(pair.reference, offset: offset, count: count)
                if a == nil || a != b { fail("step \(step) \(operation): \(a?.count ?? -1) bytes vs \(b?.count ?? -1) expected, errno \(errno)") }
            case 50..<62:
                let length = Int(random.next() % UInt64(maxSize + 1))
                operation = "truncate \(length)"
                if ftruncate(pair.tested, off_t(length)) != 0 || ftruncate(pair.reference, off_t(length)) != 0 {
                    fail("step \(step) \(operation): errno \(errno)")
                }
            case 62..<70:
                generation += 1
                let (tested, reference) = names()
                operation = "rename to \(tested)"
                if rename(pair.testedPath, tested) != 0 || rename(pair.referencePath, reference) != 0 { fail("step \(step) \(operation): errno \(errno)") }
                pair.testedPath = tested
                pair.referencePath = reference
            case 70..<78:
                // A fresh open drops the kernel's cached pages: reads reach the file system again.
                operation = "reopen"
                if !pair.close() { fail("step \(step) close: errno \(errno)") }
                pair.tested = open(pair.testedPath, O_RDWR)
                pair.reference = open(pair.referencePath, O_RDWR)
                if pair.tested < 0 || pair.reference < 0 { fail("step \(step) reopen: errno \(errno)") }
            case 78..<83:
                operation = "unlink and create"
                if !pair.close() { fail("step \(step) close: errno \(errno)") }
                if unlink(pair.testedPath) != 0 || unlink(pair.referencePath) != 0 { fail("step \(step) unlink: errno \(errno)") }
                if access(pair.testedPath, F_OK) == 0 || errno != ENOENT { fail("step \(step): \(pair.testedPath) still there after unlink") }
                generation += 1
                guard let fresh = Pair.create(names().0, names().1) else {
                    fail("step \(step) create \(names().0): errno \(errno)")
                    return outcome
                }
                pair = fresh
            default:
                operation = "fsync"
                if fsync(pair.tested) != 0 || fdatasync(pair.tested) != 0 { fail("step \(step) fsync: errno \(errno)") }
            }
            outcome.counts[operation.split(separator: " ").first.map(String.init) ?? operation, default: 0] += 1
            // Compared after every step: the size, and every byte.
            let expected = pair.size(pair.reference)
            let got = pair.size(pair.tested)
            if got != expected { fail("step \(step) after \(operation): size \(got), expected \(expected)") }
            guard pair.read(pair.tested, offset: 0, count: expected + 1) == pair.read(pair.reference, offset: 0, count: expected + 1) else {
                fail("step \(step) after \(operation): contents differ")
                break
            }
        }
        if !pair.close() { fail("final close: errno \(errno)") }
        outcome.testedName = "fsx-\(generation)"
        outcome.referencePath = pair.referencePath
        return outcome
    }
}
