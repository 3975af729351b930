/// The wrap/unwrap context that binds a wrapped account key to its account:
/// the front door generates and rewraps account keys under it, the workers
/// unwrap under it, and the vault authenticates it, so a wrapped key copied
/// to another account does not unwrap.
public enum AccountWrapContext {
    public static func bytes(account: String) -> [UInt8] { Array("atrest/v1/account:\(account)".utf8) }
}
