/// How to reach a Ceph cluster: a ceph.conf (monitor addresses), the cephx
/// user and its keyring file, and a bound on every monitor and OSD wait.
public struct RadosConfiguration: Sendable, Equatable {
    /// Path of the ceph.conf naming the monitors (`mon host`).
    public var confFile: String
    /// The cephx user, with or without the `client.` prefix (e.g. `client.atrest`).
    public var user: String
    /// Path of the user's keyring; nil uses the conf file's `keyring` setting.
    public var keyringFile: String?
    /// Bound on connecting (`client_mount_timeout`) and on each monitor and OSD
    /// operation (`rados_mon_op_timeout`, `rados_osd_op_timeout`).
    public var timeout: Duration
    /// Bytes of data (writes and reads) one process keeps in flight to the
    /// OSDs (`RadosByteBudget`); librados' own bound is set to twice this.
    public var inFlightBytes: Int

    /// The default in-flight data: 16 puts of 64 MiB streaming 4 stripes of
    /// 4 MiB each fit, with room for reads.
    public static let defaultInFlightBytes = 512 << 20

    public init(confFile: String, user: String = "client.atrest", keyringFile: String? = nil, timeout: Duration = .seconds(10),
                inFlightBytes: Int = defaultInFlightBytes) {
        self.confFile = confFile
        self.user = user
        self.keyringFile = keyringFile
        self.timeout = timeout
        self.inFlightBytes = max(1 << 20, inFlightBytes)
    }

    /// The user's full cephx name (`client.` prefixed).
    var fullUserName: String { user.contains(".") ? user : "client.\(user)" }
}
