import Logging

/// The call a task is serving, so every log line written while serving it
/// carries `call_id` without each handler passing it along: `LogSetup`
/// installs a swift-log metadata provider that reads this task-local.
public enum CallLog {
    @TaskLocal public static var callID: String?

    /// Adds `call_id` to every log line written inside a call (see `LogSetup`).
    public static let metadataProvider = Logger.MetadataProvider {
        guard let callID else { return [:] }
        return ["call_id": .string(callID)]
    }
}
