import AtRestKeyVault
import AtRestMessaging
import AtRestStatus
import AtRestTesting
import AtRestWire
import Foundation
import Testing

/// `atrest.v1.Status/Get` on every service and `atrest status` over it.
@Suite(.serialized) struct StatusTests {
    @Test func everyServiceAnswersStatusAndTheCLIPrintsIt() async throws {
        let cluster = try LocalCluster.deployCluster()
        defer { cluster.stop() }
        let worker = try cluster.addWorker("w-status")
        try await cluster.waitForWorkers(["w-status"])
        let accounts = try await cluster.bootstrap(accounts: ["acct-s"])
        let data = [UInt8](repeating: 7, count: 4096)
        for i in 0..<5 { try await cluster.put("o\(i)", data, accounts["acct-s"]!) }
        #expect(try await cluster.get("o0", accounts["acct-s"]!) == data)
        // A failing call (missing object) is counted as an error by code.
        await #expect(throws: RPCStatus.self) { _ = try await cluster.get("missing", accounts["acct-s"]!) }

        let front = try await cluster.status(cluster.frontDoor.endpoint)
        #expect(front.service == "atrest-frontdoor" && front.version == AtRestVersion.current)
        #expect(front.figure("workers_connected") == 1 && front.workers.map(\.name) == ["w-status"])
        #expect(front.workers[0].credit == 4 && front.workers[0].inFlight == 0)
        #expect(front.figure("errors", label: "NOT_FOUND") >= 1)
        #expect(front.figure("calls", label: "atrest.v1.Account/Create OK") == 1)
        #expect(front.rssKiB > 0 && front.peakRssKiB >= front.rssKiB)

        let workerStatus = try await cluster.status(worker.fields["status"] ?? "")
        #expect(workerStatus.service == "atrest-worker" && workerStatus.instance == "w-status")
        #expect(workerStatus.figure("calls", label: "\(BlobMethod.put.name) OK") == 5)
        #expect(workerStatus.figure("key_unwraps") >= 1)
        #expect(workerStatus.figure("key_cache_hits") >= 5)
        #expect(workerStatus.figure("calls", label: "\(BlobMethod.get.name) NOT_FOUND") == 1)

        // A KeyStatus check (denied: the user holds no grant on the account's key) is audited and counted.
        let ops = accounts["acct-s"]!
        let keyID = try await cluster.client.call("atrest.v1.Account/GetEncryption", request: AccountRequest(accountID: "acct-s"),
                                                  as: AccountEncryption.self, metadata: ops).message.keyID
        let answer = try await cluster.client.call("atrest.v1.KeyVault/KeyStatus", request: KeyStatusRequest(KeyRef(provider: "managed", keyID: keyID)),
                                                   as: KeyStatus.self, metadata: ops).message
        #expect(!answer.unwrapAllowed)
        let vault = try await cluster.status(cluster.vault.endpoint)
        #expect(vault.service == "atrest-keyvault" && vault.total("calls") > 0)
        #expect(vault.figure("key_status_checks", label: "audited") >= 1)
        let identity = try await cluster.status(cluster.identity.endpoint)
        #expect(identity.service == "atrest-identity" && identity.figure("calls", label: "atrest.v1.Identity/Login OK") >= 2)

        // The CLI: a table, JSON, and exit 5 for a service that does not answer.
        let table = try runCLI(["status", cluster.frontDoor.endpoint, worker.fields["status"] ?? ""])
        #expect(table.status == 0)
        #expect(table.output.contains("atrest-frontdoor") && table.output.contains("w-status") && table.output.contains("key_cache_hits"))
        let json = try runCLI(["status", "--json", "--endpoint", cluster.vault.endpoint])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
        #expect(json.status == 0 && parsed?.first?["service"] as? String == "atrest-keyvault")
        let down = try runCLI(["status", "--timeout", "1", "tcp://127.0.0.1:9"])
        #expect(down.status == 5)
    }

    /// Runs the `atrest` CLI with an empty config and returns its exit status and stdout.
    func runCLI(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = ServiceProcess.binDirectory.appendingPathComponent("atrest")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["ATREST_CONFIG": NSTemporaryDirectory() + "atrest-status-\(UUID().uuidString.prefix(8)).json"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
