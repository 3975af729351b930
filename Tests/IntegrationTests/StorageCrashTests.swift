import Foundation
import Testing
import AtRestCrypto
import AtRestStorage
import AtRestTesting

/// Launches the real `atrest-store-writer` and SIGKILLs it mid-write many
/// times, then checks the store holds only complete, readable objects: every
/// object decrypts, its SHA-256 matches the one the writer recorded, every
/// object the writer reported is present, and no temp file survives a reopen.
@Suite(.serialized) struct StorageCrashTests {
    /// Where the executables are (`ATREST_BIN_DIR`, as every integration suite finds them).
    static func binDir() -> String { ServiceProcess.binDirectory.path }

    @Test func sigkillMidWriteLeavesOnlyCompleteObjects() async throws {
        let writer = Self.binDir() + "/atrest-store-writer"
        try #require(FileManager.default.isExecutableFile(atPath: writer), "build atrest-store-writer first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keyBytes = try SecureRandom.bytes(32)
        let keyHex = keyBytes.map { String(format: "%02x", $0) }.joined()
        let key = try AccountKey(key: SecretBytes(keyBytes), reference: KeyReference(provider: "test", keyID: "crash", keyVersion: 1, accountKeyVersion: 1))

        var reported = Set<String>()
        var killsMidWrite = 0
        for round in 0..<30 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: writer)
            process.arguments = [dir, String(round + 1)]
            process.environment = ["ATREST_TEST_ACCOUNT_KEY_HEX": keyHex]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Kill at a different point in each round: 80–400 ms in.
            usleep(useconds_t(80_000 + (round * 37_000) % 320_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): writer exited by itself (\(process.terminationStatus))")
            let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            for line in lines where line.hasPrefix("wrote ") { reported.insert(String(line.dropFirst(6))) }
            if try leftoverTempFiles(dir) > 0 { killsMidWrite += 1 }
        }
        #expect(!reported.isEmpty, "the writer never finished an object; kills came too early")
        #expect(killsMidWrite > 0, "no kill landed mid-write")

        let store = try ObjectStore(directory: dir)
        #expect(try leftoverTempFiles(dir) == 0)
        let listing = try await store.list(account: "crash", container: "c", accountKey: key)
        let names = Set(listing.objects.map(\.name))
        #expect(reported.isSubset(of: names), "reported but missing: \(reported.subtracting(names))")
        for object in listing.objects {
            let (metadata, data) = try await store.get(account: "crash", container: "c", name: object.name, accountKey: key)
            let digest = try SHA256.hash(data).map { String(format: "%02x", $0) }.joined()
            #expect(UInt64(data.count) == metadata.length, "\(object.name) length")
            #expect(metadata.userMetadata["sha256"] == digest, "\(object.name) is torn")
        }
        // No leak the collector cannot find: after it, every object still
        // reads, and once they are deleted no block file is left (each one
        // left was named by a current block list).
        _ = try await store.collectGarbage(account: "crash", container: "c", retentionSeconds: 0, accountKey: key)
        for object in listing.objects {
            let (metadata, data) = try await store.get(account: "crash", container: "c", name: object.name, accountKey: key)
            #expect(metadata.userMetadata["sha256"] == (try SHA256.hash(data).map { String(format: "%02x", $0) }.joined()), "\(object.name) after GC")
            try await store.delete(account: "crash", container: "c", name: object.name, accountKey: key)
        }
        #expect(try blockFiles(dir) == [], "block files no block list named and the collector missed")
        print("crash test: 30 SIGKILLs, \(killsMidWrite) with a write in progress, \(names.count) objects verified")
    }

    /// Group commit: 16 concurrent 4 KiB puts; the writer is SIGKILLed right
    /// after it has reported a number of acknowledged puts (while the
    /// others are in flight), several times. Every acknowledged object must be
    /// there and read back whole; nothing torn, no temp file after a reopen.
    @Test func sigkillRightAfterConcurrentSmallPutsLosesNoAcknowledgedOne() async throws {
        let writer = Self.binDir() + "/atrest-store-writer"
        try #require(FileManager.default.isExecutableFile(atPath: writer), "build atrest-store-writer first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-crash-small-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keyBytes = try SecureRandom.bytes(32)
        let keyHex = keyBytes.map { String(format: "%02x", $0) }.joined()
        let key = try AccountKey(key: SecretBytes(keyBytes), reference: KeyReference(provider: "test", keyID: "crash", keyVersion: 1, accountKeyVersion: 1))

        var acknowledged = Set<String>()
        for round in 0..<6 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: writer)
            process.arguments = [dir, String(round + 1), "small"]
            process.environment = ["ATREST_TEST_ACCOUNT_KEY_HEX": keyHex]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Read acknowledgements as they come; kill right after the n-th.
            let wanted = 5 + round * 23
            var buffered = Data()
            var seen: [String] = []
            let handle = out.fileHandleForReading
            while seen.count < wanted {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffered.append(chunk)
                while let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                    buffered.removeSubrange(buffered.startIndex...newline)
                    if line.hasPrefix("wrote ") { seen.append(String(line.dropFirst(6))) }
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): writer exited by itself (\(process.terminationStatus))")
            #expect(seen.count >= wanted, "round \(round): only \(seen.count) puts acknowledged")
            // Lines written before the kill landed are acknowledged puts too.
            buffered.append(handle.readDataToEndOfFile())
            for line in String(decoding: buffered, as: UTF8.self).split(separator: "\n") where line.hasPrefix("wrote ") {
                seen.append(String(line.dropFirst(6)))
            }
            acknowledged.formUnion(seen)
        }

        let store = try ObjectStore(directory: dir)
        #expect(try leftoverTempFiles(dir) == 0)
        let listing = try await store.list(account: "crash", container: "c", accountKey: key)
        let names = Set(listing.objects.map(\.name))
        #expect(acknowledged.isSubset(of: names), "acknowledged but missing: \(acknowledged.subtracting(names).sorted().prefix(10))")
        for object in listing.objects {
            let (metadata, data) = try await store.get(account: "crash", container: "c", name: object.name, accountKey: key)
            #expect(data.count == 4096, "\(object.name) length")
            #expect(metadata.userMetadata["sha256"] == (try SHA256.hash(data).map { String(format: "%02x", $0) }.joined()), "\(object.name) is torn")
        }
        print("small-put crash test: 6 SIGKILLs, \(acknowledged.count) acknowledged puts, \(names.count) objects verified")
    }

    private func blockFiles(_ dir: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return [] }
        return walker.compactMap { $0 as? String }.filter {
            let name = ($0 as NSString).lastPathComponent
            return name.hasPrefix("s-") || name.hasPrefix("b-")
        }
    }

    private func leftoverTempFiles(_ dir: String) throws -> Int {
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return 0 }
        return walker.compactMap { $0 as? String }.filter { ($0 as NSString).lastPathComponent.hasPrefix(".tmp-") }.count
    }
}
