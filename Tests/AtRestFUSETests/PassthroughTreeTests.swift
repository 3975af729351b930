import AtRestTesting
import Foundation
import Testing

/// Ordinary tools on a real mount of atrest-fuse-passthrough: a generated
/// tree copied in with `cp -a`, compared with `diff -r`, copied out with `rsync -a`.
@Suite(.serialized, .enabled(if: fuseAvailable, Comment(rawValue: noFUSE)))
struct PassthroughTreeTests {
    /// Hundreds of files nested 7 levels deep, Unicode names, sizes 0 B – 1 MiB; returns the file count.
    static func generateTree(at root: String, seed: UInt64) throws -> Int {
        var random = SeededRandom(seed: seed)
        let names = ["naïve café", "日本語のファイル", "Ωμέγα", "emoji 🎉🚀", "Ünïcödé-ß", "plain", "with space", "a.b.c", "中文目录", "Привет"]
        var directories = [root]
        var files = 0
        // Seven levels of nesting along one chain, and siblings at random depths.
        var chain = root
        for level in 1...7 {
            chain += "/level\(level) \(names[level % names.count])"
            try FileManager.default.createDirectory(atPath: chain, withIntermediateDirectories: true)
            directories.append(chain)
        }
        for index in 0..<30 {
            let parent = directories[Int(random.next() % UInt64(directories.count))]
            let directory = parent + "/dir\(index) \(names[index % names.count])"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            directories.append(directory)
        }
        let fixed = [0, 1, 4095, 4096, 4097, 65_536, 131_073, 1 << 20]
        for index in 0..<400 {
            let size: Int
            if index < fixed.count {
                size = fixed[index]
            } else {
                // Log-uniform: mostly small files, some near 1 MiB.
                let bits = Int(random.next() % 21)
                size = Int(random.next() % UInt64(1 << bits))
            }
            let parent = directories[Int(random.next() % UInt64(directories.count))]
            let path = parent + "/file\(index) \(names[(index * 7) % names.count]).bin"
            let bytes = random.bytes(size)
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes),
                                                 attributes: [.posixPermissions: [0o644, 0o600, 0o755, 0o444][index % 4]]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            files += 1
        }
        return files
    }

    @Test func copyATreeInWithCpAndOutWithRsync() throws {
        let mount = try PassthroughMount("tree")
        let work = try TemporaryDirectory("tree-work")
        let tree = try work.child("tree")
        let count = try Self.generateTree(at: tree, seed: 0x5EED_F05E)
        #expect(count == 400)

        let copyIn = run("/bin/cp", ["-a", tree, mount.mountpoint + "/tree"])
        #expect(copyIn.status == 0, "cp -a into the mount: \(copyIn.output)")
        let inside = run("/usr/bin/diff", ["-r", tree, mount.mountpoint + "/tree"])
        #expect(inside.status == 0 && inside.output.isEmpty, "diff -r against the mount: \(inside.output.prefix(2000))")
        // The bytes went through to the directory served, unchanged.
        let backing = run("/usr/bin/diff", ["-r", tree, mount.source + "/tree"])
        #expect(backing.status == 0 && backing.output.isEmpty, "diff -r against the source: \(backing.output.prefix(2000))")

        let out = try work.child("out")
        let copyOut = run("/usr/bin/rsync", ["-a", mount.mountpoint + "/tree", out + "/"])
        #expect(copyOut.status == 0, "rsync -a out of the mount: \(copyOut.output)")
        let outside = run("/usr/bin/diff", ["-r", tree, out + "/tree"])
        #expect(outside.status == 0 && outside.output.isEmpty, "diff -r after rsync -a: \(outside.output.prefix(2000))")

        // Modes and modification times survived both copies (chmod and utimens through the mount, getattr back).
        let files = try FileManager.default.subpathsOfDirectory(atPath: tree)
        #expect(files.count > count)
        for file in files {
            let original = try FileManager.default.attributesOfItem(atPath: tree + "/" + file)
            let copied = try FileManager.default.attributesOfItem(atPath: out + "/tree/" + file)
            let mounted = try FileManager.default.attributesOfItem(atPath: mount.mountpoint + "/tree/" + file)
            #expect(copied[.posixPermissions] as? Int == original[.posixPermissions] as? Int, "mode of \(file)")
            #expect(mounted[.modificationDate] as? Date == original[.modificationDate] as? Date, "mtime of \(file) on the mount")
            #expect(copied[.modificationDate] as? Date == original[.modificationDate] as? Date, "mtime of \(file) after rsync")
            #expect(mounted[.size] as? Int == original[.size] as? Int, "size of \(file)")
        }

        // Removing the tree through the mount empties the source.
        let remove = run("/bin/rm", ["-rf", mount.mountpoint + "/tree"])
        #expect(remove.status == 0, "rm -rf: \(remove.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.source) == [])
        #expect(mount.stop() == 0)
        #expect(!isMountpoint(mount.mountpoint))
    }
}
