import AtRestRados
import AtRestStorage

/// The `rados` backend: objects in a Ceph pool through librados' aio calls
/// (docs/FORMAT.md "RADOS layout").
///
/// - An object up to `stripeSize` (written in one append, as the store
///   writes: up to `singleObjectLimit`) is one RADOS object (its head) named
///   `<container id>/<object>`; a larger one is a head holding only a
///   manifest (`HeadRecord`) plus stripes named `<head>@<upload id>@<n>`,
///   written before the head under an id unique to the upload, so a
///   replace never mixes two versions.
/// - A commit is one atomic write op on the head that applies the condition
///   (exclusive create / assert_version); versions are the head's RADOS
///   version. `.none` is a compare-and-swap loop on the version seen, so the
///   replaced version's stripes are known and removed.
/// - Each container has an index object `<container id>/.index` whose omap
///   lists its objects (value: the upload id of the head) and child
///   containers; the entry is set before and after the head write, and a
///   delete removes it only while it still names the removed head, so a
///   head is never left without its entry (FORMAT.md has the argument).
///
/// Every verb suspends on librados completions; no thread of the
/// cooperative pool ever blocks. Garbage a crash or a race can leave
/// (stripes no head references, entries without a head) is removed by
/// `collectGarbage(olderThan:)`.
public final class RadosBackend: StorageBackend {
    public let pool: RadosPool
    /// The largest object kept in one RADOS object, and the size of stripes.
    public let stripeSize: Int
    /// Objects written in one piece up to this size stay one RADOS object:
    /// a sealed 4 MiB block (4 MiB of data plus its tags and header) is not
    /// cut into a 4 MiB stripe and a 1 KiB one.
    var singleObjectLimit: Int { stripeSize + stripeSize / 8 }
    /// The cephx user, for error messages.
    let user: String

    /// RADOS objects should stay a few MiB (recovery and scrub work per object).
    public static let defaultStripeSize = 4 << 20
    /// Stripe writes one upload keeps in flight while it streams.
    static let stripesInFlight = 4
    /// Bytes of an unstriped head read with it by `open` (the store's first
    /// read of an object is its first 64 KiB: `StoredObject.headRead`).
    static let openPrefetch = 64 << 10

    public init(pool: RadosPool, user: String = "client.atrest", stripeSize: Int = defaultStripeSize) {
        precondition(stripeSize > 0, "stripe size must be positive")
        self.pool = pool
        self.user = user
        self.stripeSize = stripeSize
    }

    /// Connects to the cluster and opens `pool` (in `namespace`); errors are
    /// `.io` naming the monitors, the pool or the user. Connecting blocks in
    /// librados, so it runs on a dispatch thread (`RadosCluster.connect`).
    public static func connect(_ configuration: RadosConfiguration, pool: String, namespace: String = "",
                               stripeSize: Int = defaultStripeSize) async throws -> RadosBackend {
        let user = configuration.user.contains(".") ? configuration.user : "client.\(configuration.user)"
        do {
            let opened = try await RadosCluster.connect(configuration, pool: pool, namespace: namespace)
            return RadosBackend(pool: opened, user: user, stripeSize: stripeSize)
        } catch let error as RadosError {
            throw StorageError.rados(error, pool: pool, user: user, "connecting")
        }
    }

    public var kind: BackendKind { .rados }

    /// `error` as a `StorageError`: a RadosError becomes `.io` naming the
    /// pool and user (`StorageError.rados`); a StorageError passes.
    func failure(_ error: any Error, _ what: String) -> any Error {
        guard let error = error as? RadosError else { return error }
        return StorageError.rados(error, pool: pool.name, user: user, what)
    }

    /// Runs `body`, turning a RadosError into a StorageError.
    func mapping<T>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw failure(error, what()) }
    }
}
