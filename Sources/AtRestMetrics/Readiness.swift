/// One check of `/readyz`: what the service needs to do its job
/// (docs/OPERATIONS.md "Metrics and health"). `detail` is for operators and
/// never holds key material, names or tokens.
public struct ReadinessCheck: Sendable, Equatable {
    public var name: String
    public var ready: Bool
    public var detail: String

    public init(_ name: String, ready: Bool, detail: String = "") {
        self.name = name
        self.ready = ready
        self.detail = detail
    }

    /// `name` is ready when `probe` returns without error within its own timeout.
    public static func probe(_ name: String, _ probe: @Sendable () async throws -> Void) async -> ReadinessCheck {
        do {
            try await probe()
            return ReadinessCheck(name, ready: true)
        } catch {
            return ReadinessCheck(name, ready: false, detail: "unreachable")
        }
    }
}

/// Asked at each `/readyz`.
public typealias Readiness = @Sendable () async -> [ReadinessCheck]

extension ReadinessCheck {
    /// The `/readyz` answer: 200 when every check is ready, else 503; one line per check.
    public static func response(_ checks: [ReadinessCheck]) -> HTTPResponse {
        let ready = checks.allSatisfy(\.ready)
        var text = ready ? "ready\n" : "not ready\n"
        for check in checks {
            text += "\(check.ready ? "ok" : "failed") \(check.name)\(check.detail.isEmpty ? "" : ": \(check.detail)")\n"
        }
        return HTTPResponse(status: ready ? 200 : 503, text: text)
    }
}
