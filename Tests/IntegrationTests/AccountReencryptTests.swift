import AtRestMessaging
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// Issue 20, re-encryption as a server-side job: after a rotation, `atrest
/// account reencrypt` starts a job the front door runs (through the workers)
/// and records in the registry; the front door running it is SIGKILLed
/// mid-way and started again, the job resumes from its recorded page and
/// completes, and every blob (plain and committed block lists) reads back
/// byte-exact before, during and after; audit entries mark start and end.
/// Cancelling, retiring versions (refused before a completed job; after it,
/// names still resolve through the names-only entry) and the tenant checks.
@Suite("Account re-encryption", .serialized)
struct AccountReencryptTests {
    /// A cluster with alice logged in (CLI and RPC), account `account` holding
    /// `count` blobs in containers one/two and a committed block list.
    struct Fixture {
        let cluster: LocalCluster
        let alice: [String: String]
        let account: String
        var blobs: [String: [UInt8]] = [:]
        var c: RPCClient { cluster.client }
        var a: [String: String] { alice.merging(["account": account]) { $1 } }
        var env: [String: String] { ["ATREST_CONFIG": "\(cluster.root)/cli/config.json"] }

        /// A job's walk waits `--max-call-time` + 4 s after a rotation: 6 s here (300 by default).
        static let maxCallTime = 6
        static var options: LocalCluster.Options {
            var options = LocalCluster.blobClusterOptions
            options.extraArguments[.frontDoor] = ["--max-call-time", "\(maxCallTime)"]
            return options
        }

        init(account: String, count: Int) async throws {
            cluster = try LocalCluster(Self.options)
            (alice, _) = try await cluster.bootstrapUsers()
            self.account = account
            try "alice-secret-123456".write(toFile: "\(cluster.root)/alice.secret", atomically: true, encoding: .utf8)
            #expect(try await atrest(["login", "--tenant", "t1", "--user", "alice", "--secret-file", "\(cluster.root)/alice.secret"]).status == 0)
            _ = try await c.call(AccountMethod.create.name, request: AccountCreateRequest(accountID: account), as: AccountInfo.self, metadata: alice)
            for container in ["one", "two"] {
                _ = try await c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: container), as: EmptyMessage.self, metadata: a)
            }
            for index in 0..<count {
                let data = (0..<(index * 997 % 70_000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
                let container = index % 2 == 0 ? "one" : "two"
                _ = try await c.call(BlobMethod.put.name, request: BlobPutRequest(container: container, name: "b\(index)"), as: BlobProperties.self,
                                     payload: data.isEmpty ? [] : [data], metadata: a)
                blobs["\(container)/b\(index)"] = data
            }
            // A committed block list too: its blocks are rewritten with it.
            let parts: [[UInt8]] = [Array(repeating: 1, count: 70_000), Array(repeating: 2, count: 5)]
            for (i, part) in parts.enumerated() {
                _ = try await c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "one", name: "blocks", blockID: [UInt8(i)]),
                                     as: StageBlockResponse.self, payload: [part], metadata: a)
            }
            _ = try await c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "one", name: "blocks", blockIDs: [[0], [1]]),
                                 as: BlobProperties.self, metadata: a)
            blobs["one/blocks"] = parts.flatMap { $0 }
        }

        func atrest(_ args: [String], endpoint: String? = nil) async throws -> (status: Int32, out: String, err: String) {
            try await runTool("atrest", args + ["--endpoint", endpoint ?? cluster.frontDoor.endpoint], environment: env)
        }

        func json(_ args: [String], endpoint: String? = nil) async throws -> (status: Int32, object: [String: Any], err: String) {
            let run = try await atrest(args + ["--json"], endpoint: endpoint)
            return (run.status, (try? JSONSerialization.jsonObject(with: Data(run.out.utf8))) as? [String: Any] ?? [:], run.err)
        }

        /// Account key versions of every object (o-) and block file (s-).
        func objectVersions() throws -> [UInt32] {
            try cluster.allFiles().filter { path in
                let file = path.split(separator: "/").last!
                return path.contains("/objects/") && (file.hasPrefix("o-") || file.hasPrefix("s-"))
            }
                .map { try AccountKeyRotationTests.accountKeyVersion(ofObjectFile: $0) }
        }

        func expectAllReadable() async throws {
            for (path, data) in blobs {
                let (container, name) = (String(path.split(separator: "/")[0]), String(path.split(separator: "/")[1]))
                let got = try await c.call(BlobMethod.get.name, request: BlobGetRequest(container: container, name: name), as: BlobGetResponse.self,
                                           metadata: a, idempotent: true)
                #expect(got.payload.flatMap { $0 } == data, "\(path)")
            }
        }

        func job() async throws -> ReencryptJob {
            try await c.call(AccountMethod.getJob.name, request: AccountRequest(accountID: account), as: ReencryptJob.self, metadata: alice,
                             idempotent: true).message
        }

        /// Polls until the job is no longer running (bounded so a hung job fails the test instead of hanging it).
        func waitForJobEnd() async throws -> ReencryptJob {
            for _ in 0..<3000 {
                let job = try await job()
                if !job.isRunning { return job }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try await job()
        }

        func auditEntries() async throws -> [AuditEntry] {
            let keyAdmin = try await cluster.systemKeyAdministrator()
            return try await c.call(KeyVaultMethod.getAuditLog.name, request: GetAuditLogRequest(), as: GetAuditLogResponse.self,
                                    metadata: keyAdmin).message.entries
        }
    }

    @Test func frontDoorKilledMidJobResumesAfterRestart() async throws {
        let f = try await Fixture(account: "re-acct", count: 40)
        defer { f.cluster.stop() }
        #expect(Set(try f.objectVersions()) == [1])
        #expect(try await f.atrest(["account", "rotate-key", "re-acct"]).status == 0)

        // A second front door with a worker of its own runs the job (one blob per page: slow enough to interrupt).
        let second = try f.cluster.addFrontDoor()
        try f.cluster.addWorker("second-0", frontDoor: second.fields["workers"])
        let started = try await f.json(["account", "reencrypt", "re-acct", "--page-size", "1"], endpoint: second.endpoint)
        #expect(started.status == 0 && started.object["state"] as? String == "running", "\(started.object) \(started.err)")
        #expect(started.object["objectsTotal"] as? Int == f.blobs.count, "\(started.object)")
        let jobID = try #require(started.object["job"] as? String)
        // Shown by `account show` and `job show` on the other front door too.
        var midway = ReencryptJob()
        while true {
            try await f.expectAllReadable()
            midway = try await f.job()
            if midway.objectsDone >= 5 || !midway.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(midway.isRunning && midway.jobID == jobID && midway.runner.hasSuffix("/frontdoor-2"), "\(midway)")
        // Progress in bytes too: the plan counts every blob's length, the pages the lengths rewritten so far.
        let plannedBytes = UInt64(f.blobs.values.map(\.count).reduce(0, +))
        #expect(midway.bytesTotal == plannedBytes && midway.bytesDone <= plannedBytes, "\(midway)")
        try f.cluster.restartExtraFrontDoor(0)
        let versions = try f.objectVersions()
        #expect(versions.contains(1) && versions.contains(2), "interrupted with objects under both versions: \(versions)")
        try await f.expectAllReadable()
        let shown = try await f.json(["account", "show", "re-acct"])
        #expect((shown.object["reencryptJob"] as? String ?? "").hasPrefix("running: "), "\(shown.object)")

        // The restarted front door resumes from the recorded page (before any lease would let another take it over).
        let done = try await f.waitForJobEnd()
        #expect(done.state == ReencryptJob.completed && done.jobID == jobID, "\(done)")
        #expect(done.runner.hasSuffix("/frontdoor-2"), "resumed by the restarted front door: \(done.runner)")
        #expect(done.objectsDone >= UInt64(f.blobs.count) && done.rewritten > 0 && done.skipped == 0, "\(done)")
        // Bytes count what recorded pages rewrote: a page redone after the restart finds its objects current and adds none.
        #expect(done.bytesTotal == plannedBytes && done.bytesDone > 0 && done.bytesDone <= plannedBytes && done.etaSeconds == 0, "\(done)")
        #expect(Set(try f.objectVersions()) == [2], "every object (and every block of the block list) is under version 2")
        try await f.expectAllReadable()
        let show = try await f.json(["job", "show", "re-acct"])
        #expect(show.status == 0 && show.object["state"] as? String == "completed" && show.object["finishedAt"] != nil, "\(show.object)")

        // Audit entries at start and end, naming the job.
        let audit = try await f.auditEntries()
        #expect(audit.contains { $0.operation == "reencryptStarted" && $0.detail.contains(jobID) && $0.result == "ok" })
        #expect(audit.contains { $0.operation == "reencryptCompleted" && $0.detail.contains(jobID) && $0.result == "ok" })
        // A second run finds nothing to rewrite.
        let again = try await f.json(["account", "reencrypt", "re-acct", "--container", "one", "--wait"])
        #expect(again.status == 0 && again.object["rewritten"] as? Int == 0 && again.object["objectsDone"] as? Int == 21, "\(again.object) \(again.err)")
    }

    /// Writes that straddle a rotation (issue 20): the job waits out the
    /// calls admitted under the previous version (the front door's longest
    /// call time plus 4 s after the rotation) before it lists the
    /// containers and walks; a block staged before the rotation and
    /// committed after the walk is moved to the current version by the
    /// commit, so retiring version 1 strands nothing and every blob reads
    /// back after it.
    @Test func writesStraddlingARotationSurviveTheRetire() async throws {
        var f = try await Fixture(account: "re-straddle", count: 4)
        defer { f.cluster.stop() }
        let late = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        _ = try await f.c.call(BlobMethod.stageBlock.name, request: StageBlockRequest(container: "two", name: "late", blockID: [9]),
                               as: StageBlockResponse.self, payload: [late], metadata: f.a)
        let rotated = try await f.c.call(AccountMethod.rotateKey.name, request: AccountRequest(accountID: f.account), as: AccountEncryption.self,
                                         metadata: f.alice).message
        #expect(rotated.accountKeyVersion == 2)
        let started = try await f.c.call(AccountMethod.startReencrypt.name, request: AccountReencryptRequest(accountID: f.account),
                                         as: ReencryptJob.self, metadata: f.alice).message
        #expect(started.isRunning && started.plannedAtUnix == 0 && started.message.contains("waiting until"), "\(started)")
        #expect(started.versionSinceUnix == rotated.changedAtUnix
                && started.walkFromUnix == rotated.changedAtUnix + Int64(Fixture.maxCallTime) + 4, "\(started)")
        let waiting = try await f.atrest(["account", "retire-versions", f.account])
        #expect(waiting.status == 6 && waiting.err.contains("running"), "\(waiting)")
        let done = try await f.waitForJobEnd()
        #expect(done.state == ReencryptJob.completed && done.plannedAtUnix >= done.walkFromUnix && done.message.isEmpty, "\(done)")
        #expect(done.objectsTotal == UInt64(f.blobs.count) && done.rewritten == UInt64(f.blobs.count), "planned when the walk began: \(done)")

        // The walk is over; the block staged under version 1 is committed now.
        _ = try await f.c.call(BlobMethod.commitBlocks.name, request: CommitBlocksRequest(container: "two", name: "late", blockIDs: [[9]]),
                               as: BlobProperties.self, metadata: f.a)
        f.blobs["two/late"] = late
        #expect(Set(try f.objectVersions()) == [2], "the commit moved the block to version 2 (and dropped the version 1 staging)")
        let retired = try await f.json(["account", "retire-versions", f.account])
        #expect(retired.status == 0 && retired.object["retiredAccountKeyVersions"] as? String == "1", "\(retired.object) \(retired.err)")
        try await f.expectAllReadable()
    }

    @Test func cancelRetireAndTenantChecks() async throws {
        let f = try await Fixture(account: "re-retire", count: 60)
        defer { f.cluster.stop() }
        #expect(try await f.atrest(["account", "rotate-key", "re-retire"]).status == 0)
        // Retiring before any job is refused (exit 6: precondition).
        let early = try await f.atrest(["account", "retire-versions", "re-retire"])
        #expect(early.status == 6 && early.err.contains("never re-encrypted"), "\(early)")

        // Another tenant's user gets what a missing account gets; a reader of the account cannot start or cancel.
        let admin = try await f.cluster.adminIdentity()
        _ = try await admin.createTenant("t2")
        _ = try await admin.createUser(tenant: "t2", name: "carol", secret: "carol-secret-123456")
        let carol = try await f.cluster.login(tenant: "t2", "carol", "carol-secret-123456")
        func refusal<R: WireMessage>(_ method: String, _ request: R) async -> RPCStatus? {
            do { _ = try await f.c.call(method, request: request, as: EmptyMessage.self, metadata: carol) } catch let status as RPCStatus { return status }
            catch { return nil }
            return nil
        }
        // (Owner methods answer NOT_FOUND for both, reader methods PERMISSION_DENIED: docs/PROTOCOL.md "Account".)
        let missing = await refusal(AccountMethod.get.name, AccountRequest(accountID: "no-such-acct"))
        let missingOwned = await refusal(AccountMethod.startReencrypt.name, AccountReencryptRequest(accountID: "no-such-acct"))
        #expect(missing?.code == .permissionDenied && missingOwned?.code == .notFound)
        for refused in [await refusal(AccountMethod.startReencrypt.name, AccountReencryptRequest(accountID: "re-retire")),
                        await refusal(AccountMethod.cancelJob.name, AccountRequest(accountID: "re-retire")),
                        await refusal(AccountMethod.retireVersions.name, AccountRequest(accountID: "re-retire"))] {
            #expect(refused?.code == .notFound && refused?.message == missingOwned?.message.replacingOccurrences(of: "no-such-acct", with: "re-retire"),
                    "\(String(describing: refused))")
        }
        let refusedRead = await refusal(AccountMethod.getJob.name, AccountRequest(accountID: "re-retire"))
        #expect(refusedRead?.code == .permissionDenied && refusedRead?.code == missing?.code, "\(String(describing: refusedRead))")

        // Start, cancel: the job stops; blobs stay readable; retiring is refused.
        let started = try await f.json(["account", "reencrypt", "re-retire", "--page-size", "1"])
        #expect(started.status == 0, "\(started.err)")
        let cancelled = try await f.json(["job", "cancel", "re-retire"])
        #expect(cancelled.status == 0 && cancelled.object["state"] as? String == "cancelled", "\(cancelled.object) \(cancelled.err)")
        let after = try await f.waitForJobEnd()
        #expect(after.state == ReencryptJob.cancelled && after.objectsDone < UInt64(f.blobs.count), "\(after)")
        let twice = try await f.atrest(["job", "cancel", "re-retire"])
        #expect(twice.status == 6, "\(twice)")
        try await f.expectAllReadable()
        let refused = try await f.atrest(["account", "retire-versions", "re-retire"])
        #expect(refused.status == 6 && refused.err.contains("cancelled, not completed"), "\(refused)")
        let audit = try await f.auditEntries()
        #expect(audit.contains { $0.operation == "reencryptCancelled" && $0.detail.contains(after.jobID) })

        // Run it to completion, then retire version 1 (the version the name key came from).
        let completed = try await f.json(["account", "reencrypt", "re-retire", "--wait"])
        #expect(completed.status == 0 && completed.object["state"] as? String == "completed", "\(completed.object) \(completed.err)")
        let retired = try await f.json(["account", "retire-versions", "re-retire"])
        #expect(retired.status == 0 && retired.object["accountKeyVersions"] as? String == "2"
                && retired.object["retiredAccountKeyVersions"] as? String == "1", "\(retired.object) \(retired.err)")
        #expect(try await f.auditEntries().contains { $0.operation == "versionsRetired" && $0.result == "ok" })

        // Names still resolve (names-only entry): list, read, write, create; version 1 is gone from the keys.
        try await f.expectAllReadable()
        let listed = try await f.c.call(BlobMethod.listContainers.name, request: EmptyMessage(), as: ContainerListResponse.self, metadata: f.a,
                                        idempotent: true).message
        #expect(listed.containers.sorted() == ["one", "two"], "\(listed)")
        let blobs = try await f.c.call(BlobMethod.list.name, request: BlobListRequest(container: "two"), as: BlobListResponse.self, metadata: f.a,
                                       idempotent: true).message
        #expect(blobs.blobs.count == 30, "\(blobs.blobs.count)")
        _ = try await f.c.call(BlobMethod.put.name, request: BlobPutRequest(container: "two", name: "b1"), as: BlobProperties.self,
                               payload: [[9, 9, 9]], metadata: f.a)
        let overwritten = try await f.c.call(BlobMethod.get.name, request: BlobGetRequest(container: "two", name: "b1"), as: BlobGetResponse.self,
                                             metadata: f.a, idempotent: true)
        #expect(overwritten.payload.flatMap { $0 } == [9, 9, 9])
        _ = try await f.c.call(BlobMethod.createContainer.name, request: ContainerRequest(container: "three"), as: EmptyMessage.self, metadata: f.a)
        // Retiring again is a no-op; a second rotation and job retire version 2, keeping the names-only entry.
        #expect(try await f.atrest(["account", "retire-versions", "re-retire"]).status == 0)
        #expect(try await f.atrest(["account", "rotate-key", "re-retire"]).status == 0)
        #expect(try await f.json(["account", "reencrypt", "re-retire", "--wait"]).status == 0)
        let second = try await f.json(["account", "retire-versions", "re-retire"])
        #expect(second.object["accountKeyVersions"] as? String == "3" && second.object["retiredAccountKeyVersions"] as? String == "1,2", "\(second.object)")
        #expect(Set(try f.objectVersions()) == [3])
        let relisted = try await f.c.call(BlobMethod.listContainers.name, request: EmptyMessage(), as: ContainerListResponse.self, metadata: f.a,
                                          idempotent: true).message
        #expect(relisted.containers.sorted() == ["one", "three", "two"], "\(relisted)")
    }
}
