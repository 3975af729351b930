import AtRestRados
import AtRestStorage
import Foundation

/// Where a `RadosBackend` keeps what (docs/FORMAT.md "RADOS layout"). Every
/// RADOS object name derives from a backend name; the backend's own objects
/// use a last component starting with "." (the index) or containing "@"
/// (stripes), which `BackendName` can never produce, so they never collide
/// with the store's objects.
enum RadosLayout {
    /// The head of `name`: the object itself, or the manifest of its stripes.
    static func head(_ name: BackendName) -> String { "\(name.container.id)/\(name.object)" }

    /// The index object of a container (its omap lists its names); its
    /// existence is the container's.
    static func index(_ container: BackendContainer) -> String { "\(container.id)/.index" }

    /// Stripe `n` of upload `upload` of the object whose head is `head`.
    static func stripe(_ head: String, upload: String, _ n: Int) -> String { "\(head)@\(upload)@\(n)" }

    /// The xattr of a head holding its `HeadRecord`.
    static let headXattr = "atrest.head"
    /// The xattr of a head holding the value its index entry holds
    /// (`HeadRecord.entry`), apart from the record: a blind replace
    /// rewrites the record and leaves this as it is. Heads of earlier
    /// releases have none (their record carries the entry).
    static let entryXattr = "atrest.entry"
    /// The xattr that says whether a head may be replaced blind (`PutHint.blind`):
    /// `blindYes` when it is unstriped and was put `blindReplaceable`, else
    /// `blindNo` (or absent: earlier releases).
    static let blindXattr = "atrest.blind"
    static let blindYes: [UInt8] = [0x31]
    static let blindNo: [UInt8] = [0x30]

    /// The steps every head write but a blind replace ends with: the record,
    /// the entry value on its own, and whether the head may be replaced blind.
    static func headSteps(_ record: HeadRecord, blindReplaceable: Bool) -> [RadosWriteOperation.Step] {
        [.setXattr(name: headXattr, value: record.bytes),
         .setXattr(name: entryXattr, value: Array(record.entry.utf8)),
         .setXattr(name: blindXattr, value: blindReplaceable && record.stripes == 0 ? blindYes : blindNo)]
    }

    /// The index value of a child container (object entries hold upload ids).
    static func containerEntry(now: Date = Date()) -> [UInt8] { Array("container \(UploadID.milliseconds(now))".utf8) }

    /// The parent container and the last component of `container` (nil for a top-level one).
    static func parent(_ container: BackendContainer) -> (BackendContainer, String)? {
        guard let slash = container.id.lastIndex(of: "/") else { return nil }
        return (try? BackendContainer(String(container.id[..<slash]))).map { ($0, String(container.id[container.id.index(after: slash)...])) }
    }

    /// What a RADOS object name in the pool is, for the garbage collector.
    enum Kind: Equatable {
        case index(container: String)
        case stripe(head: String, upload: String)
        case head(container: String, object: String)
        case foreign
    }

    static func kind(of object: String) -> Kind {
        let parts = object.split(separator: "@", omittingEmptySubsequences: false)
        if parts.count == 3 { return .stripe(head: String(parts[0]), upload: String(parts[1])) }
        guard parts.count == 1, let slash = object.lastIndex(of: "/") else { return .foreign }
        let container = String(object[..<slash]), last = String(object[object.index(after: slash)...])
        if last == ".index" { return .index(container: container) }
        return last.hasPrefix(".") ? .foreign : .head(container: container, object: last)
    }
}

/// A per-upload unique id: creation time (ms since the epoch, hex) and 64
/// random bits. The time lets the garbage collector judge the age of a
/// stripe or index entry from its name or value alone.
enum UploadID {
    static func make(now: Date = Date()) -> String {
        "\(milliseconds(now))-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    }

    static func milliseconds(_ date: Date) -> String { String(UInt64(max(0, date.timeIntervalSince1970 * 1000)), radix: 16) }

    /// When an upload id (or a "container <ms>" entry) was made; nil for anything else.
    static func created(_ value: String) -> Date? {
        let stamp = value.hasPrefix("container ") ? value.dropFirst("container ".count) : value.split(separator: "-").first ?? ""
        return UInt64(stamp, radix: 16).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }
}

/// What a head says about its object (xattr `atrest.head`, text
/// "<upload id> <size> <stripe size> <stripes> [<entry>]"): stripes 0 means
/// the bytes are the head's own data; entry is the value its index entry
/// holds (the upload id of the put that created the entry; absent in heads
/// of earlier releases, whose entry held their own upload id).
struct HeadRecord: Equatable, Sendable {
    var upload: String
    var size: UInt64
    var stripeSize: Int
    var stripes: Int
    var entry: String

    var bytes: [UInt8] { Array("\(upload) \(size) \(stripeSize) \(stripes)\(entry == upload ? "" : " " + entry)".utf8) }

    init(upload: String, size: UInt64, stripeSize: Int, stripes: Int, entry: String? = nil) {
        (self.upload, self.size, self.stripeSize, self.stripes, self.entry) = (upload, size, stripeSize, stripes, entry ?? upload)
    }

    init?(_ bytes: [UInt8]) {
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: " ")
        guard fields.count == 4 || fields.count == 5, let size = UInt64(fields[1]), let stripeSize = Int(fields[2]), let stripes = Int(fields[3]),
              stripes == 0 || stripeSize > 0 else { return nil }
        self.init(upload: String(fields[0]), size: size, stripeSize: stripeSize, stripes: stripes, entry: fields.count == 5 ? String(fields[4]) : nil)
    }

    func stripeNames(_ head: String) -> [String] { (0..<stripes).map { RadosLayout.stripe(head, upload: upload, $0) } }
}
