/// One page of a listing.
public struct ObjectListing: Sendable, Equatable {
    public var objects: [ObjectMetadata]
    /// Pass back as `pageToken` for the next page; nil when this was the last.
    public var nextPageToken: String?
    /// Storage ids (keyed-hash names, the `o-<id>` objects) of objects in the
    /// container that failed authentication, sorted; only on the first page.
    public var damaged: [String] = []

    public init(objects: [ObjectMetadata], nextPageToken: String?, damaged: [String] = []) {
        self.objects = objects
        self.nextPageToken = nextPageToken
        self.damaged = damaged
    }
}

/// Listing decrypts each object's header (names are not stored in clear),
/// then sorts, filters by prefix and pages. Cost is O(objects in container)
/// per page: an encrypted name index is future work. Headers are opened
/// `listConcurrency` at a time, so a backend where each read is a network
/// round trip (RADOS) is not paid for one by one.
///
/// An object that fails authentication (changed bytes, a format this build
/// cannot read, another key) does not fail the listing: one bad object must
/// not hide every good one. Its storage id goes into `damaged` instead, on
/// the first page only (it has no name to order or filter it by, so it may
/// or may not match `prefix`).
extension ObjectStore {
    static let listConcurrency = 16

    public func list(account: String, container: String, prefix: String = "", pageToken: String? = nil,
                     maxResults: Int = 1000, accountKey: AccountKey) async throws -> ObjectListing {
        guard maxResults > 0 else { throw StorageError(.invalidArgument, "maxResults must be positive") }
        let id = try await existingContainer(account, container, accountKey)
        let identity = ObjectIdentity(account: account, container: container)
        let names = try await allNames(in: id, prefix: "o-")
        var all: [ObjectMetadata] = []
        var damaged: [String] = []
        let headers = try await names.concurrentMap(limit: Self.listConcurrency) { [self] entry -> Header in
            do {
                return .object(try await open(try BackendName(id, entry), name: nil, identity: identity, accountKey: accountKey).reader.metadata)
            } catch let error as StorageError where error.code == .notFound {
                return .gone  // deleted while listing
            } catch let error as StorageError where Self.damageCodes.contains(error.code) {
                return .damaged(String(entry.dropFirst(2)))
            }
        }
        for header in headers {
            switch header {
            case .object(let metadata):
                if metadata.name.hasPrefix(prefix), pageToken.map({ metadata.name > $0 }) ?? true { all.append(metadata) }
            case .damaged(let id):
                if pageToken == nil { damaged.append(id) }
            case .gone:
                break
            }
        }
        all.sort { $0.name < $1.name }
        let page = Array(all.prefix(maxResults))
        return ObjectListing(objects: page, nextPageToken: all.count > maxResults ? page.last?.name : nil,
                             damaged: damaged.sorted())
    }

    /// What listing found in one `o-` object.
    private enum Header: Sendable {
        case object(ObjectMetadata)
        case damaged(String)
        case gone
    }

    /// The errors that mark one object as damaged rather than the listing as failed.
    static let damageCodes: Set<StorageError.Code> = [.integrityFailure, .unsupportedFormat, .wrongKey]
}
