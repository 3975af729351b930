import Glibc
import Testing
@testable import AtRestLocalState

/// Every case of the shared start-up check: state must be private to its
/// owner, plug-in code writable only by root or its owner; each refusal names
/// the file and the exact command that fixes it.
@Suite struct FileAccessTests {
    /// A fresh 0700 directory, removed afterwards.
    private func withDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/atrest-access-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        try body(dir)
    }

    private func file(_ path: String, mode: mode_t) throws {
        #expect(try LocalFile.createExclusive([1, 2, 3], at: path))
        chmod(path, mode)
    }

    private func refusal(_ body: () throws(LocalStateError) -> Void) -> LocalStateError? {
        do throws(LocalStateError) { try body() } catch { return error }
        return nil
    }

    @Test func privateStateFilesAndDirectories() throws {
        try withDirectory { dir in
            try file("\(dir)/vault.state", mode: 0o600)
            try FileAccess.requirePrivate("\(dir)/vault.state", what: "vault state file")
            try FileAccess.requirePrivate(dir, what: "vault data directory")

            chmod("\(dir)/vault.state", 0o644)
            let readable = refusal { () throws(LocalStateError) in try FileAccess.requirePrivate("\(dir)/vault.state", what: "vault state file") }
            #expect(readable?.code == .insecurePermissions)
            #expect(readable?.message.contains("vault state file '\(dir)/vault.state' is readable by group or others (mode 644)") == true)
            #expect(readable?.message.contains("chmod 600 '\(dir)/vault.state'") == true)

            chmod("\(dir)/vault.state", 0o666)
            let writable = refusal { () throws(LocalStateError) in try FileAccess.requirePrivate("\(dir)/vault.state", what: "vault state file") }
            #expect(writable?.message.contains("readable and writable by group or others (mode 666)") == true)
            #expect(writable?.message.contains("chmod 600 '\(dir)/vault.state'") == true)

            chmod("\(dir)/vault.state", 0o620)
            let groupWrite = refusal { () throws(LocalStateError) in try FileAccess.requirePrivate("\(dir)/vault.state", what: "f") }
            #expect(groupWrite?.message.contains("is writable by group or others") == true)

            chmod(dir, 0o777)
            let directory = refusal { () throws(LocalStateError) in try FileAccess.requirePrivate(dir, what: "vault data directory") }
            #expect(directory?.message.contains("chmod 700 '\(dir)'") == true)
            chmod(dir, 0o700)
        }
    }

    @Test func treeNamesTheFirstExposedFileBelowTheDirectory() throws {
        try withDirectory { dir in
            try LocalFile.makeDirectory("\(dir)/providers/deeper")
            try file("\(dir)/audit.log", mode: 0o600)
            try file("\(dir)/providers/customer.state", mode: 0o600)
            try file("\(dir)/providers/deeper/x", mode: 0o666)
            try FileAccess.requirePrivateTree(dir, what: "vault data directory", depth: 1)  // 'deeper' itself is 0700; x is below depth 1

            let deep = refusal { () throws(LocalStateError) in try FileAccess.requirePrivateTree(dir, what: "vault data directory") }
            #expect(deep?.message.contains("'\(dir)/providers/deeper/x'") == true)
            chmod("\(dir)/providers/deeper/x", 0o600)

            chmod("\(dir)/audit.log", 0o666)
            let audit = refusal { () throws(LocalStateError) in try FileAccess.requirePrivateTree(dir, what: "vault data directory") }
            #expect(audit?.message.contains("vault data directory: file '\(dir)/audit.log'") == true)
            #expect(audit?.message.contains("chmod 600 '\(dir)/audit.log'") == true)
            chmod("\(dir)/audit.log", 0o600)

            chmod("\(dir)/providers", 0o755)
            let sub = refusal { () throws(LocalStateError) in try FileAccess.requirePrivateTree(dir, what: "vault data directory", depth: 0) }
            #expect(sub?.message.contains("chmod 700 '\(dir)/providers'") == true)
            chmod("\(dir)/providers", 0o700)
            try FileAccess.requirePrivateTree(dir, what: "vault data directory")
        }
    }

    @Test func rootKeyFileCheckIsTheSharedOne() throws {
        try withDirectory { dir in
            try file("\(dir)/root.key", mode: 0o640)
            let error = refusal { () throws(LocalStateError) in try LocalFile.requireOwnerOnly("\(dir)/root.key", what: "vault root key file") }
            #expect(error?.message.contains("chmod 600 '\(dir)/root.key'") == true)
        }
    }

    @Test func pluginCodeWritableOnlyByRootOrOwner() throws {
        try withDirectory { dir in
            let plugin = "\(dir)/libKeyProviderX.so"
            try file(plugin, mode: 0o755)
            chmod(dir, 0o755)
            try FileAccess.requireTrustedCode(plugin, what: "plug-in file")
            try FileAccess.requireTrustedCode(dir, what: "plug-in directory")

            chmod(plugin, 0o666)
            let world = refusal { () throws(LocalStateError) in try FileAccess.requireTrustedCode(plugin, what: "plug-in file") }
            #expect(world?.code == .insecurePermissions)
            #expect(world?.message.contains("plug-in file '\(plugin)' is writable by group or others (mode 666)") == true)
            #expect(world?.message.contains("chmod 644 '\(plugin)'") == true)
            chmod(plugin, 0o755)

            chmod(dir, 0o1777)
            let sticky = refusal { () throws(LocalStateError) in try FileAccess.requireTrustedCode(dir, what: "plug-in directory") }
            #expect(sticky?.message.contains("chmod 1755 '\(dir)'") == true)
            chmod(dir, 0o775)
            let group = refusal { () throws(LocalStateError) in try FileAccess.requireTrustedCode(dir, what: "plug-in directory") }
            #expect(group?.message.contains("chmod 755 '\(dir)'") == true)
            chmod(dir, 0o755)

            // Owned by another ordinary user: they could rewrite it whatever its mode.
            if geteuid() == 0 {
                chown(plugin, 4242, 4242)
                let foreign = refusal { () throws(LocalStateError) in try FileAccess.requireTrustedCode(plugin, what: "plug-in file") }
                #expect(foreign?.message.contains("belongs to user 4242") == true)
                #expect(foreign?.message.contains("chown 0 '\(plugin)'") == true)
            }
            chmod(dir, 0o700)
        }
    }
}
