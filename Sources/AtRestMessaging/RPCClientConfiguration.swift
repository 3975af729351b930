import AtRestWire
import Logging

/// When and how an `RPCClient` retries.
///
/// Only UNAVAILABLE is retried, and only for calls marked idempotent or
/// carrying an idempotency key: any other failure may mean the call ran.
/// Waits grow exponentially with full jitter and never undercut the
/// server's retry_after_ms; no retry starts after the call's deadline.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(50), maxBackoff: Duration = .seconds(1)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `attempt + 1` (jittered).
    func backoff(after attempt: Int, retryAfterMs: UInt32) -> Duration {
        let base = initialBackoff.nanoseconds << UInt64(min(attempt - 1, 20))
        let capped = min(base, maxBackoff.nanoseconds)
        let jittered = UInt64.random(in: 0...max(capped, 1))
        return .nanoseconds(Int64(max(jittered, UInt64(retryAfterMs) * 1_000_000)))
    }
}

/// Per-call options.
public struct CallOptions: Sendable {
    /// How long the caller waits in total (all attempts); nil: the client's default.
    public var timeout: Duration?
    /// Sent in the header: "authorization", "traceparent", ...
    public var metadata: [String: String]
    /// The method may run more than once without harm (enables retries).
    public var idempotent: Bool
    /// Makes a non-idempotent call retryable: the server deduplicates by it.
    public var idempotencyKey: String

    public init(
        timeout: Duration? = nil, metadata: [String: String] = [:], idempotent: Bool = false,
        idempotencyKey: String = ""
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.idempotent = idempotent
        self.idempotencyKey = idempotencyKey
    }

    var retryable: Bool { idempotent || !idempotencyKey.isEmpty }
}

/// Configuration of an `RPCClient`.
public struct RPCClientConfiguration: Sendable {
    public var limits: MessagingLimits
    public var defaultTimeout: Duration
    public var retry: RetryPolicy
    /// CURVE client keys and the server's public key; nil: plain TCP.
    public var curve: CurveClientConfiguration?
    public var logger: Logger

    public init(
        limits: MessagingLimits = .default, defaultTimeout: Duration = .seconds(30), retry: RetryPolicy = RetryPolicy(),
        curve: CurveClientConfiguration? = nil, logger: Logger = Logger(label: "atrest.rpc.client")
    ) {
        self.limits = limits
        self.defaultTimeout = defaultTimeout
        self.retry = retry
        self.curve = curve
        self.logger = logger
    }
}

/// A typed reply: the decoded message and the payload frames.
public struct RPCReply<Message: WireMessage>: Sendable {
    public var message: Message
    /// The reply's bulk bytes, still in the frames they arrived in.
    public var parts: [PayloadPart]

    /// The payload as arrays (copies; use `parts` on hot paths).
    public var payload: [[UInt8]] { parts.map(\.bytes) }
}
