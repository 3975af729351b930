/// The frames of one published event (docs/KEY-PROVIDERS.md, "Access policy, references, audit, events"):
///
/// ```
/// [topic (UTF-8)] [stream header: epoch u64 BE | sequence u64 BE] [body (protobuf, empty for a heartbeat)]
/// ```
///
/// Why a sequence number: PUB/SUB drops messages silently (a subscriber
/// that is slow, not yet connected or reconnecting). Numbering every event
/// and repeating the last number in a heartbeat lets a subscriber *notice*
/// a loss and re-check instead of trusting a cache that missed a "disabled".
/// The epoch is random per publisher start, so a restarted publisher (whose
/// numbers begin again) is noticed the same way.
enum EventFrames {
    /// The topic of heartbeats; every subscriber subscribes to it.
    static let heartbeatTopic = "\u{1}heartbeat"
    static let headerSize = 16

    static func header(epoch: UInt64, sequence: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(headerSize)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: epoch >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: sequence >> UInt64(shift))) }
        return out
    }

    /// (topic, epoch, sequence, body) or nil for anything that is not an event message.
    static func parse(_ frames: [Frame]) -> (topic: String, epoch: UInt64, sequence: UInt64, body: [UInt8])? {
        guard frames.count == 3, frames[1].count == headerSize else { return nil }
        let header = frames[1].bytes
        var epoch: UInt64 = 0
        var sequence: UInt64 = 0
        for i in 0..<8 { epoch = epoch << 8 | UInt64(header[i]) }
        for i in 8..<16 { sequence = sequence << 8 | UInt64(header[i]) }
        return (String(decoding: frames[0].bytes, as: UTF8.self), epoch, sequence, frames[2].bytes)
    }
}
