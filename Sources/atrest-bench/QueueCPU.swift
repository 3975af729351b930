import AtRestTesting

/// CPU seconds of the bench (the client), the front door and each worker
/// during a queue measurement, per 1,000 messages put and consumed.
struct QueueCPU {
    let frontDoor: Int32
    let workers: [Int32]

    init(_ cluster: LocalCluster) {
        frontDoor = cluster.frontDoor.pid
        workers = cluster.workerProcesses.map(\.pid)
    }

    struct Sample {
        var client, frontDoor: Double
        var workers: [Double]
        static func - (a: Sample, b: Sample) -> Sample {
            Sample(client: a.client - b.client, frontDoor: a.frontDoor - b.frontDoor, workers: zip(a.workers, b.workers).map { $0 - $1 })
        }
    }

    func sample() -> Sample {
        Sample(client: ProcessCPU.selfSeconds(), frontDoor: ProcessCPU.seconds(pid: frontDoor), workers: workers.map(ProcessCPU.seconds(pid:)))
    }

    func line(_ spent: Sample, messages: Double) -> String {
        let thousands = max(messages, 1) / 1000
        let total = spent.client + spent.frontDoor + spent.workers.reduce(0, +)
        return "CPU s per 1,000 messages: client \(decimals(spent.client / thousands)), front door \(decimals(spent.frontDoor / thousands)), "
            + "workers \(spent.workers.map { decimals($0 / thousands) }.joined(separator: " + ")), all \(decimals(total / thousands))"
    }
}
