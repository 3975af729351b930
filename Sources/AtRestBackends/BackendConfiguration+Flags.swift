import AtRestStorage

extension BackendConfiguration {
    /// The configuration the services' flags describe (`--backend`,
    /// `--data-dir`, `--ceph-conf`, `--ceph-user`, `--ceph-keyring`,
    /// `--pool`, `--ceph-timeout`), checked so that a wrong combination is
    /// refused at start with the flag to fix, rather than failing at the
    /// first request. nil means the flag was not given (the defaults apply).
    public init(backend: String, dataDirectory: String, cephConf: String? = nil, cephUser: String? = nil,
                keyringFile: String? = nil, pool: String? = nil, timeoutSeconds: Int? = nil) throws(StorageError) {
        self.init(kind: try BackendKind(flag: backend), directory: dataDirectory)
        let cephFlags = [("--ceph-conf", cephConf), ("--ceph-user", cephUser), ("--ceph-keyring", keyringFile), ("--pool", pool),
                         ("--ceph-timeout", timeoutSeconds.map(String.init))]
        switch kind {
        case .local:
            let given = cephFlags.filter { $0.1 != nil }.map(\.0)
            guard given.isEmpty else {
                throw StorageError(.invalidArgument, "\(given.joined(separator: ", ")) apply to --backend rados only (the backend is local)")
            }
            guard !dataDirectory.isEmpty else { throw StorageError(.invalidArgument, "--backend local needs --data-dir") }
        case .rados:
            for (flag, value) in cephFlags where value?.isEmpty == true {
                throw StorageError(.invalidArgument, "\(flag) must not be empty")
            }
            if let cephConf { self.cephConf = cephConf }
            if let cephUser { self.cephUser = cephUser }
            if let pool { self.pool = pool }
            if let timeoutSeconds {
                guard Self.timeoutRange.contains(timeoutSeconds) else {
                    throw StorageError(.invalidArgument, "--ceph-timeout must be \(Self.timeoutRange.lowerBound) to \(Self.timeoutRange.upperBound) seconds, not \(timeoutSeconds)")
                }
                timeout = .seconds(timeoutSeconds)
            }
            self.keyringFile = keyringFile
        }
    }

    /// What `--ceph-timeout` accepts, in seconds: librados takes whole
    /// seconds, and above 5 minutes a caller's deadline ends first anyway.
    public static let timeoutRange = 1...300
}
