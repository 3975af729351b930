import AtRestTesting
import Glibc

/// A fresh directory under /tmp, removed (recursively) on `remove()`, and
/// when the test process exits if no test did.
struct TempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/atrest-store-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        ScratchDirectories.removeAtExit(path)
    }

    func remove() { _ = system("rm -rf '\(path)'") }

    /// Every regular file below the directory (recursive).
    func allFiles(_ dir: String? = nil) -> [String] {
        let dir = dir ?? path
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: &e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name == "." || name == ".." { continue }
            let full = "\(dir)/\(name)"
            if e.pointee.d_type == UInt8(DT_DIR) { out += allFiles(full) } else { out.append(full) }
        }
        return out
    }

    func contents(_ file: String) -> [UInt8] {
        guard let f = fopen(file, "rb") else { return [] }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for i in 0...(count - needle.count) where self[i] == needle[0] && Array(self[i..<(i + needle.count)]) == needle { return true }
        return false
    }
}
