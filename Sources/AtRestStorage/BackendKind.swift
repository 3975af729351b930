/// The storage backends this build has (`--backend`).
public enum BackendKind: String, CaseIterable, Sendable {
    /// A directory on a local (or shared) file system: `LocalBackend`.
    case local
    /// A Ceph pool through librados: `RadosBackend` (AtRestBackends).
    case rados

    /// Parses a `--backend` value; anything unknown is refused by name.
    public init(flag: String) throws(StorageError) {
        guard let kind = BackendKind(rawValue: flag) else {
            throw StorageError(.invalidArgument, "unknown backend '\(flag)'; this build supports: \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = kind
    }
}
