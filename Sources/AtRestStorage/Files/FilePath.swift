import AtRestLocalState

/// A path within a share: "/"-separated components, a leading "/"
/// optional ("" and "/" name the root). Each component is 1-255 bytes of
/// UTF-8, not "." or "..", without NUL or "/"; the whole path at most 4096
/// bytes. Names are kept exactly as given (no Unicode normalisation: NFC
/// and NFD spellings are two names, as on ext4).
public struct FilePath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public init(_ path: String) throws {
        let bytes = path.utf8.count
        guard bytes <= FileLimits.maxPathBytes else {
            throw StorageError(.invalidArgument, "a path is at most \(FileLimits.maxPathBytes) bytes of UTF-8, not \(bytes)")
        }
        // Cut at the byte "/", not at Characters (SlashPath): "/" followed by a
        // combining mark is one Character, which `hasPrefix("/")` does not see.
        let rest = path.utf8.first == Self.slash ? String(decoding: path.utf8.dropFirst(), as: UTF8.self) : path
        components = rest.isEmpty ? [] : try SlashPath.split(rest, omittingEmpty: false).map { try Self.validate(component: $0) }
    }

    init(components: [String]) { self.components = components }

    private static let slash = UInt8(ascii: "/")

    /// One name within a directory (the rules of a path component).
    @discardableResult
    public static func validate(component name: String) throws -> String {
        let bytes = name.utf8.count
        guard bytes > 0 else { throw StorageError(.invalidArgument, "a path has an empty component (a doubled or trailing '/')") }
        guard FileLimits.componentBytes.contains(bytes) else {
            throw StorageError(.invalidArgument, "a path component is 1-255 bytes of UTF-8, not \(bytes)")
        }
        guard name != ".", name != ".." else { throw StorageError(.invalidArgument, "a path component cannot be '.' or '..'") }
        guard !name.utf8.contains(0) else { throw StorageError(.invalidArgument, "a path component cannot contain NUL") }
        guard !name.utf8.contains(slash) else { throw StorageError(.invalidArgument, "a path component cannot contain '/'") }
        return name
    }

    public var isRoot: Bool { components.isEmpty }
    /// The last component ("" for the root).
    public var name: String { components.last ?? "" }
    /// The directory holding this path (the root's is the root).
    public var parent: FilePath { FilePath(components: Array(components.dropLast())) }

    public func appending(_ name: String) -> FilePath { FilePath(components: components + [name]) }

    /// The components as UTF-8: what names a file. Swift's `String` equality
    /// treats canonically equivalent spellings (NFC "é", NFD "e" + U+0301)
    /// as one; the store keeps them apart, as ext4 does.
    private var bytes: [[UInt8]] { components.map { Array($0.utf8) } }

    public static func == (lhs: FilePath, rhs: FilePath) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    public var description: String { "/" + components.joined(separator: "/") }
}
