import Foundation

extension FrontDoorConfiguration {
    /// Names this front door as the runner of re-encryption jobs: its host
    /// and data directory, stable across restarts, so a front door started
    /// again on the same data directory resumes its jobs at once (another
    /// front door takes them over only after their lease).
    var jobRunnerID: String { "\(ProcessInfo.processInfo.hostName):\(dataDirectory)" }
}
