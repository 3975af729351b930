import AtRestWire
import Testing
@testable import AtRestFrontDoor

/// The re-encryption job's order of pages (containers, then record kinds)
/// and what a completed job lets retire: kinds it walked to the end only,
/// none for a job recorded by a build that walked blobs only.
@Suite struct ReencryptJobPagesTests {
    @Test func containersThenKindsThenDone() {
        var job = ReencryptJob()
        job.containers = ["one", "two"]
        job.kinds = BlobReencryptRequest.recordKinds
        job.pageSize = 7
        var seen: [String] = []
        while let page = AccountReencryptJobs.nextPage(job) {
            seen.append(page.kind.isEmpty ? "container:\(page.container)" : "kind:\(page.kind)")
            #expect(page.kind.isEmpty ? page.maxObjects == 7 && !page.container.isEmpty : page.maxObjects == 70 && page.container.isEmpty)
            // Two pages each: a token, then the end.
            if job.pageToken.isEmpty {
                job.pageToken = "t"
            } else {
                job.pageToken = ""
                if page.kind.isEmpty { job.containerIndex += 1 } else { job.kindIndex += 1 }
            }
            job.count(BlobReencryptResponse(objects: 2, rewritten: 1, bytes: 10, raced: 1), records: !page.kind.isEmpty)
        }
        #expect(seen == ["container:one", "container:one", "container:two", "container:two"]
                + BlobReencryptRequest.recordKinds.flatMap { ["kind:\($0)", "kind:\($0)"] })
        #expect(job.objectsDone == 8 && job.rewritten == 4 && job.raced == 4 && job.bytesDone == 40)
        #expect(job.recordsDone == 16 && job.recordsRewritten == 8 && job.recordsRaced == 8 && job.recordBytes == 80)
        #expect(job.coveredKinds == BlobReencryptRequest.recordKinds)
        // Records per page: ten times the page size, at most 10,000.
        job.pageSize = 1000
        job.kindIndex = 0
        #expect(AccountReencryptJobs.nextPage(job)?.maxObjects == 10_000)
    }

    @Test func retiringNeedsEveryHeldKindCovered() {
        let held = AccountUsage(containers: 1, queues: 2, tables: 0, disks: 1, shares: 0)
        var job = ReencryptJob()
        #expect(AccountReencryptJobs.uncoveredKinds(held, job) == ["queues", "disks"], "a job of an older build covers no kind")
        job.kinds = BlobReencryptRequest.recordKinds
        job.kindIndex = 1
        #expect(AccountReencryptJobs.uncoveredKinds(held, job) == ["disks"], "queues were walked, tables, disks and shares not yet")
        job.kindIndex = 4
        #expect(AccountReencryptJobs.uncoveredKinds(held, job).isEmpty)
        job.kindIndex = 9  // beyond the list: still only the kinds recorded
        #expect(job.coveredKinds == BlobReencryptRequest.recordKinds)
        #expect(AccountReencryptJobs.uncoveredKinds(AccountUsage(containers: 3), ReencryptJob()).isEmpty, "blobs alone need no kind")
    }

    /// The ETA `job show` prints: the rate so far (bytes when the plan has
    /// any, else objects) over what is left; 0 when unknown or not running.
    @Test func etaFromTheRateSoFar() {
        var job = ReencryptJob()
        job.state = ReencryptJob.running
        job.startedAtUnix = 100
        job.bytesTotal = 100
        job.bytesDone = 25
        job.objectsTotal = 10
        job.objectsDone = 9
        #expect(job.eta(now: 110) == 30, "10 s for 25 bytes: 75 bytes left take 30 s (bytes, not objects)")
        #expect(job.withETA(now: 110).etaSeconds == 30)
        #expect(job.eta(now: 100) == 0, "no time elapsed: unknown")
        job.bytesTotal = 0
        #expect(job.eta(now: 110) == 2, "no bytes planned: 9 objects in 10 s, 1 left takes 2 s (rounded up)")
        job.objectsDone = 0
        #expect(job.eta(now: 110) == 0, "nothing done yet: unknown")
        job.objectsDone = 10
        #expect(job.eta(now: 110) == 0, "all done")
        job.objectsDone = 5
        job.state = ReencryptJob.completed
        #expect(job.eta(now: 110) == 0, "not running")
    }

    /// Retiring needs a walk that began once every call admitted under the
    /// previous version had ended: `settleSeconds` after the job's version
    /// became current. A job of a build that did not record it proves nothing.
    @Test func retiringNeedsAWalkAfterTheSettleTime() {
        var job = ReencryptJob()
        job.jobID = "j1"
        job.versionSinceUnix = 1_000
        job.plannedAtUnix = 1_000 + 303
        let early = AccountReencryptJobs.walkRefusal(job, account: "a1", settleSeconds: 304)
        #expect(early?.code == .failedPrecondition && early?.details["reason"] == "walkTooEarly")
        #expect(early?.message.contains("303 s after its key version became current, sooner than the 304 s") == true, "\(early?.message ?? "")")
        job.plannedAtUnix = 1_000 + 304
        #expect(AccountReencryptJobs.walkRefusal(job, account: "a1", settleSeconds: 304) == nil)
        #expect(AccountReencryptJobs.walkRefusal(job, account: "a1", settleSeconds: 400) != nil, "a front door with a longer call time asks for more")
        for (since, planned) in [(Int64(0), Int64(5_000)), (1_000, 0)] {
            job.versionSinceUnix = since
            job.plannedAtUnix = planned
            #expect(AccountReencryptJobs.walkRefusal(job, account: "a1", settleSeconds: 0)?.message.contains("did not record") == true)
        }
    }
}
