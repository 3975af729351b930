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

    public init(confFile: String, user: String = "client.atrest", keyringFile: String? = nil, timeout: Duration = .seconds(10)) {
        self.confFile = confFile
        self.user = user
        self.keyringFile = keyringFile
        self.timeout = timeout
    }

    /// The user's full cephx name (`client.` prefixed).
    var fullUserName: String { user.contains(".") ? user : "client.\(user)" }
}
