import Testing
import AtRestCrypto
@testable import AtRestStorage

/// Greps every byte of every file (and every path) in the data directory for
/// known names, metadata and content: none may appear.
@Suite struct NoPlaintextOnDiskTests {
    @Test func nothingInClear() async throws {
        let key = try Fixtures.accountKey()
        let dir = TempDirectory()
        defer { dir.remove() }
        let markers = ["acct-zebra-7731", "container-okapi-4410", "object-narwhal-9921.txt", "meta-quokka-5512", "plaintext-axolotl-3306"]
        let store = try ObjectStore(directory: dir.path)
        try await store.createContainer(account: markers[0], name: markers[1], accountKey: key)
        let content = Array(String(repeating: markers[4] + " ", count: 5000).utf8)
        try await store.put(account: markers[0], container: markers[1], name: markers[2], data: content,
                      userMetadata: ["note": markers[3]], contentType: "text/plain", accountKey: key)
        try await store.stageBlock(account: markers[0], container: markers[1], name: markers[2] + ".big", blockID: Array("block-1".utf8),
                             data: content, accountKey: key)
        try await store.stageBlock(account: markers[0], container: markers[1], name: markers[2] + ".big", blockID: Array("block-2".utf8),
                             data: content, accountKey: key)
        try await store.commitBlocks(account: markers[0], container: markers[1], name: markers[2] + ".big",
                               blockIDs: [Array("block-1".utf8)], userMetadata: ["note": markers[3]], accountKey: key)
        let files = dir.allFiles()
        #expect(files.count >= 4)
        for marker in markers + ["block-1", "text/plain"] {
            let needle = Array(marker.utf8)
            for file in files {
                #expect(!file.contains(marker), "path \(file) shows \(marker)")
                #expect(!dir.contents(file).contains(subsequence: needle), "\(file) contains \(marker)")
            }
        }
        // The same store still reads everything back (the grep did not pass by accident).
        #expect(try await store.get(account: markers[0], container: markers[1], name: markers[2], accountKey: key).data == content)
        #expect(try await store.get(account: markers[0], container: markers[1], name: markers[2] + ".big", accountKey: key).data == content)
    }
}
