import Glibc

/// One page of a listing.
public struct ObjectListing: Sendable, Equatable {
    public var objects: [ObjectMetadata]
    /// Pass back as `pageToken` for the next page; nil when this was the last.
    public var nextPageToken: String?
    /// Storage ids (keyed-hash names, the `o-<id>` files) of objects in the
    /// container that failed authentication, sorted; only on the first page.
    public var damaged: [String] = []

    public init(objects: [ObjectMetadata], nextPageToken: String?, damaged: [String] = []) {
        self.objects = objects
        self.nextPageToken = nextPageToken
        self.damaged = damaged
    }
}

/// Listing decrypts each object's header (names are not on disk in clear),
/// then sorts, filters by prefix and pages. Cost is O(objects in container)
/// per page: an encrypted name index is future work.
///
/// An object that fails authentication (changed bytes, a format this build
/// cannot read, another key) does not fail the listing: one bad file must not
/// hide every good one. Its storage id goes into `damaged` instead, on the
/// first page only (it has no name to order or filter it by, so it may or may
/// not match `prefix`).
extension ObjectStore {
    public func list(account: String, container: String, prefix: String = "", pageToken: String? = nil,
                     maxResults: Int = 1000, accountKey: AccountKey) throws -> ObjectListing {
        guard maxResults > 0 else { throw StorageError(.invalidArgument, "maxResults must be positive") }
        let dir = try existingContainer(account, container, accountKey)
        var all: [ObjectMetadata] = []
        var damaged: [String] = []
        for entry in try FileSystem.list(dir) where entry.hasPrefix("o-") {
            do {
                let metadata = try withObject(dir: dir, hash: String(entry.dropFirst(2)), name: nil, account: account,
                                              container: container, accountKey: accountKey) { $0.metadata }
                if metadata.name.hasPrefix(prefix), pageToken.map({ metadata.name > $0 }) ?? true { all.append(metadata) }
            } catch let error as StorageError where error.code == .notFound {
                continue  // deleted while listing
            } catch let error as StorageError where Self.damageCodes.contains(error.code) {
                if pageToken == nil { damaged.append(String(entry.dropFirst(2))) }
            }
        }
        all.sort { $0.name < $1.name }
        let page = Array(all.prefix(maxResults))
        return ObjectListing(objects: page, nextPageToken: all.count > maxResults ? page.last?.name : nil,
                             damaged: damaged.sorted())
    }

    /// The errors that mark one object as damaged rather than the listing as failed.
    static let damageCodes: Set<StorageError.Code> = [.integrityFailure, .unsupportedFormat, .wrongKey]
}
