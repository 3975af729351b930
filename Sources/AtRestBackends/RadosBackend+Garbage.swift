import AtRestRados
import AtRestStorage
import Foundation

/// What one `RadosBackend.collectGarbage` run changed.
public struct RadosGarbageReport: Sendable, Equatable {
    /// Stripes no head references (an aborted, failed or crashed upload; a
    /// replaced or deleted version whose removal did not finish).
    public var stripesRemoved = 0
    /// Index entries whose head (or child container) is gone.
    public var entriesRemoved = 0
    /// Index entries added for a head that had none, or set to the value its head records.
    public var entriesRepaired = 0

    public init() {}
}

extension RadosBackend {
    /// Removes what a crash or a race can leave behind, when older than
    /// `retention` (judged by the upload id's time, so an upload or a
    /// put in progress is never touched when the retention exceeds the
    /// longest put): stripes their head does not reference, index entries
    /// without a head or child container. It also gives a head without an
    /// index entry its entry (a writer that crashed between its head write
    /// and its second entry write while a delete raced it), and sets an
    /// entry that holds another value than its head records to that value.
    ///
    /// Lists the whole pool (namespace): a maintenance job, run from one
    /// place now and then, not per request. Safe to run while the service
    /// serves; every removal is conditional on what it checked.
    public func collectGarbage(olderThan retention: Duration) async throws -> RadosGarbageReport {
        let seconds = Double(retention.components.seconds) + Double(retention.components.attoseconds) / 1e18
        let cutoff = Date().addingTimeInterval(-seconds)
        func old(_ value: String) -> Bool { UploadID.created(value).map { $0 < cutoff } ?? true }
        var report = RadosGarbageReport()
        var heads: [String: Set<String>] = [:], indexes: [String] = [], stripes: [(name: String, head: String, upload: String)] = []
        for object in try await mapping("listing pool objects", { try await pool.objectNames() }) {
            switch RadosLayout.kind(of: object) {
            case .index(let container): indexes.append(container)
            case .head(let container, let name): heads[container, default: []].insert(name)
            case .stripe(let head, let upload): stripes.append((object, head, upload))
            case .foreign: continue
            }
        }
        // Index entries against the heads (and child containers) they name.
        for id in indexes {
            guard let container = try? BackendContainer(id) else { continue }
            var after: String?
            repeat {
                guard let page = try await indexPage(container, after: after) else { break }
                for (key, bytes) in page.entries {
                    heads[id]?.remove(key)
                    let value = String(decoding: bytes, as: UTF8.self)
                    if value.hasPrefix("container ") {
                        let child = try BackendContainer("\(id)/\(key)")
                        if old(value), try await !containerExists(child),
                           try await updateEntry(container, key, expecting: bytes, set: nil) { report.entriesRemoved += 1 }
                    } else if let head = try await currentHead(try BackendName(container, key)) {
                        if head.record.entry != value,
                           try await updateEntry(container, key, expecting: bytes, set: Array(head.record.entry.utf8)) { report.entriesRepaired += 1 }
                    } else if old(value), try await updateEntry(container, key, expecting: bytes, set: nil) {
                        report.entriesRemoved += 1
                    }
                }
                after = page.more ? page.entries.last?.key : nil
            } while after != nil
        }
        // Heads the index did not list: give them their entry (only while still absent).
        for (id, names) in heads {
            guard let container = try? BackendContainer(id) else { continue }
            for key in names {
                guard let name = try? BackendName(container, key), let head = try await currentHead(name) else { continue }
                if (try? await updateEntry(container, key, expecting: [], set: Array(head.record.entry.utf8))) == true { report.entriesRepaired += 1 }
            }
        }
        // Stripes whose head names another upload (or is gone).
        var unreferenced: [String] = []
        for stripe in stripes where old(stripe.upload) {
            if try await currentHead(stripe.head)?.record.upload != stripe.upload { unreferenced.append(stripe.name) }
        }
        await removeObjects(unreferenced)
        report.stripesRemoved = unreferenced.count
        return report
    }

    /// One page of a container's index; nil when the index is gone.
    private func indexPage(_ container: BackendContainer, after: String?) async throws -> RadosOmapPage? {
        do {
            return try await pool.read(RadosLayout.index(container), RadosReadOperation([.omap(after: after, prefix: "", max: 1000)])).omap
        } catch let error as RadosError where error.code == .notFound {
            return nil
        } catch {
            throw failure(error, "reading the index of \(container)")
        }
    }
}
