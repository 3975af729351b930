import AtRestTesting
import AtRestWire

/// The set-up the worker-kill tests share: a victim worker to SIGKILL
/// under load and a survivor that carries on.
extension LocalCluster {
    /// Workers "w-victim" and "w-survivor" (credit 4 each), both joined; returns the victim.
    func victimAndSurvivor() async throws -> ServiceProcess {
        let victim = try addWorker("w-victim", credit: 4)
        try addWorker("w-survivor", credit: 4)
        try await waitForWorkers(["w-victim", "w-survivor"])
        return victim
    }

    /// Waits (up to about 6 s) until the victim holds calls and has answered
    /// more than `served` calls of `method` OK; returns the calls it holds
    /// then (0 if it never did: the test's `#expect` says so).
    func waitUntilVictimIsBusy(_ method: String, served: UInt64) async throws -> UInt32 {
        var inFlight: UInt32 = 0
        for _ in 0..<600 {
            let front = try await status(frontDoor.endpoint)
            inFlight = front.workers.first { $0.name == "w-victim" }?.inFlight ?? 0
            let answered = try await status(workers["w-victim"]?.fields["status"] ?? "").figure("calls", label: "\(method) OK")
            if inFlight > 0, answered > served { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        return inFlight
    }

    /// After the kill: lets the load carry on with the survivor until `acknowledged()` passes `beforeKill`
    /// (at most 30 s), then a second more. Not a fixed two seconds: the calls the broker gave the victim wait
    /// until it notices the death, which once took longer than that in a full run of the suite on two busy
    /// cores (nothing acknowledged after the kill). The test then checks that the count did pass.
    func carryOnAfterKill(beforeKill: Int, _ acknowledged: () -> Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while acknowledged() <= beforeKill && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(1))
    }
}
