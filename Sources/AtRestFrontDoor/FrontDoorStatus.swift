import AtRestMessaging
import AtRestWire

/// The front door's own status figures, from the broker's counters: workers
/// connected with their credit and calls in flight, queue depth, and the
/// replies the broker sent or forwarded that were errors, by status code.
enum FrontDoorStatus {
    static func figures(_ stats: BrokerStats) -> (figures: [StatusFigure], workers: [StatusWorker]) {
        var figures = [
            StatusFigure("workers_connected", UInt64(stats.workers)),
            StatusFigure("free_credit", UInt64(stats.freeCredit)),
            StatusFigure("queue_depth", UInt64(stats.queued)),
            StatusFigure("in_flight", UInt64(stats.dispatched)),
            StatusFigure("clients_with_calls", UInt64(stats.clients)),
            StatusFigure("replies_dropped", stats.droppedReplies),
        ]
        for (code, count) in stats.replies.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            figures.append(StatusFigure(code == .ok ? "worker_calls_ok" : "errors", label: code == .ok ? "" : "\(code)", count))
        }
        let workers = stats.workerDetails.map {
            StatusWorker(name: $0.name, credit: UInt32(clamping: $0.capacity), inFlight: UInt32(clamping: $0.inFlight))
        }
        return (figures, workers)
    }
}
