import Foundation

/// The local targets of Package.swift and what each declares it depends on,
/// read from the manifest text (no `swift package` run: it would wait for the
/// build lock a running `swift test` holds). The manifest's style is one
/// `.target(`/`.executableTarget(`/`.testTarget(` call per target with
/// `name:` first; a dependency is a quoted target name in its
/// `dependencies: [...]` (products of other packages are named by variables
/// or `.product(...)` and are not local targets, so they are left out).
struct PackageManifest {
    enum Kind: String { case target, executableTarget, testTarget, systemLibrary }

    struct Target {
        var name: String
        var kind: Kind
        var dependencies: Set<String>
    }

    let root: URL
    private(set) var targets: [String: Target] = [:]
    /// Names of the executable products.
    private(set) var executableProducts: Set<String> = []

    init(root: URL) throws {
        self.root = root
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let call = try NSRegularExpression(pattern: #"\.(target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"([^"]+)""#)
        let whole = NSRange(text.startIndex..., in: text)
        for match in call.matches(in: text, range: whole) {
            let kind = Kind(rawValue: String(text[Range(match.range(at: 1), in: text)!]))!
            let name = String(text[Range(match.range(at: 2), in: text)!])
            let rest = text[Range(match.range, in: text)!.upperBound...]
            targets[name] = Target(name: name, kind: kind, dependencies: Self.dependencies(in: rest))
        }
        let product = try NSRegularExpression(pattern: #"\.executable\(\s*name:\s*"([^"]+)""#)
        for match in product.matches(in: text, range: whole) {
            executableProducts.insert(String(text[Range(match.range(at: 1), in: text)!]))
        }
        let local = Set(targets.keys)
        for name in targets.keys { targets[name]!.dependencies.formIntersection(local) }
    }

    /// The quoted names in the `dependencies: [...]` of the call that starts
    /// `rest` (empty when the call has none before it closes).
    private static func dependencies(in rest: Substring) -> Set<String> {
        var depth = 1
        var index = rest.startIndex
        while index < rest.endIndex, depth > 0 {
            if rest[index] == "(" { depth += 1 } else if rest[index] == ")" { depth -= 1 }
            index = rest.index(after: index)
        }
        let call = rest[..<index]
        guard let start = call.range(of: "dependencies:") else { return [] }
        var names: Set<String> = []
        var bracket = 0
        var quoted: String?
        for character in call[start.upperBound...] {
            if var current = quoted {
                if character == "\"" { names.insert(current); quoted = nil } else { current.append(character); quoted = current }
                continue
            }
            switch character {
            case "[": bracket += 1
            case "]": bracket -= 1
            case "\"": quoted = ""
            default: break
            }
            if bracket == 0, character == "]" { break }
        }
        return names
    }

    /// Everything `name` links: its dependencies, theirs, and so on.
    func closure(of name: String) -> Set<String> {
        var seen: Set<String> = []
        var queue = Array(targets[name]?.dependencies ?? [])
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue += targets[next]?.dependencies ?? []
        }
        return seen
    }

    /// The local modules the Swift files of `target` import (any access
    /// level, `@testable` included).
    func imports(of target: Target) throws -> Set<String> {
        // Fuzz targets live in Fuzz/Targets (docs/FUZZING.md).
        let parent = target.kind == .testTarget ? "Tests" : target.name.hasPrefix("fuzz-") || target.name == "CFuzzDriver" ? "Fuzz/Targets" : "Sources"
        let folder = root.appendingPathComponent(parent).appendingPathComponent(target.name)
        let pattern = try NSRegularExpression(pattern: #"^\s*(?:@testable\s+)?(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+(\w+)"#,
                                              options: .anchorsMatchLines)
        var found: Set<String> = []
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                found.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        return found.intersection(targets.keys)
    }
}
