import AtRestClient
import Foundation
import Synchronization

/// A one-line progress bar on stderr for large transfers, drawn only when
/// stderr is a terminal (scripts and logs get no control characters) and at
/// most ten times a second.
final class ProgressBar: Sendable {
    private let label: String
    private let state = Mutex<(lastDraw: UInt64, drawn: Bool)>((0, false))
    private let started = DispatchTime.now().uptimeNanoseconds

    /// nil when stderr is not a TTY or the transfer is small.
    static func make(_ label: String, total: UInt64, minimum: UInt64 = 1 << 20) -> ProgressBar? {
        guard isatty(STDERR_FILENO) == 1, total >= minimum else { return nil }
        return ProgressBar(label)
    }

    private init(_ label: String) { self.label = label }

    func update(_ done: UInt64, _ total: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        let draw = state.withLock { state -> Bool in
            guard done == total || now - state.lastDraw > 100_000_000 else { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        guard draw else { return }
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let seconds = max(Double(now - started) / 1e9, 0.001)
        let rate = Double(done) / seconds / 1_048_576
        let line = String(format: "\r%@ [%@%@] %3.0f%% %.1f/%.1f MiB %.1f MiB/s", label,
                          String(repeating: "#", count: filled), String(repeating: " ", count: width - filled),
                          fraction * 100, Double(done) / 1_048_576, Double(total) / 1_048_576, rate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The bar as a transfer's progress callback.
    var callback: BlobProgress {
        { [self] done, total in update(done, total) }
    }

    /// Ends the bar's line (once; later calls do nothing), so what follows starts on its own line.
    func finish() {
        let drawn = state.withLock { state in
            defer { state.drawn = false }
            return state.drawn
        }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
