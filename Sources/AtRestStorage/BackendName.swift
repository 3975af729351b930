/// A container as a backend knows it: an opaque id made of keyed-hash
/// components (the store's `a-<account hash>/c-<container hash>`), never a
/// clear name. Components are 1 to 255 bytes of `[A-Za-z0-9._-]`, not
/// starting with "." (reserved for a backend's own files), joined by "/".
public struct BackendContainer: Hashable, Sendable, CustomStringConvertible {
    public let id: String

    public init(_ id: String) throws(StorageError) {
        let components = id.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, components.allSatisfy({ BackendName.isValidComponent($0) }) else {
            throw StorageError(.invalidArgument, "backend container id '\(id)' must be components of [A-Za-z0-9._-] (1-255 bytes, no leading '.') joined by '/'")
        }
        self.id = id
    }

    public var description: String { id }
}

/// An object's name in a backend: a container and one opaque component
/// (the store's `o-<hash>`, `s-<hash>`, `b-<hash>-<commit>-<n>`, `container`).
public struct BackendName: Hashable, Sendable, CustomStringConvertible {
    public let container: BackendContainer
    public let object: String

    public init(_ container: BackendContainer, _ object: String) throws(StorageError) {
        guard Self.isValidComponent(Substring(object)) else {
            throw StorageError(.invalidArgument, "backend object name '\(object)' must be 1-255 bytes of [A-Za-z0-9._-], no leading '.'")
        }
        self.container = container
        self.object = object
    }

    public var description: String { "\(container.id)/\(object)" }

    static func isValidComponent(_ component: Substring) -> Bool {
        guard (1...255).contains(component.utf8.count), component.first != "." else { return false }
        return component.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }
}
