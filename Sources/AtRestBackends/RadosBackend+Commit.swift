import AtRestRados
import AtRestStorage

/// What a put's caller saw under the name (`PutHint`, with the head read).
enum SeenHead: Sendable {
    case unknown
    case absent
    case head(RadosHead)
    /// The caller did not look and expects a head put `blindReplaceable` (`PutHint.blind`).
    case blind
}

extension RadosBackend {
    /// Publishes an upload whose stripes (if any) are written.
    ///
    /// A replace (`.none`, `.mustMatch`) of a head that exists starts from
    /// it (`.none`: the head the caller opened, `seen`, else a read), then
    /// writes the new head with `assert_version` of that one, carrying on
    /// the value its index entry holds (`HeadRecord.entry`): one or two
    /// round trips, one write, no index op. The entry is there (a delete removes
    /// it only after the head), and no delete can remove it while this head
    /// lives: it compares the entry with the value of the head it removed.
    ///
    /// A create (`.mustNotExist`, a `.none` whose caller saw no head or
    /// whose read found none, or a replace whose head went away meanwhile)
    /// sets the index entry to its own upload id, writes the head with an
    /// exclusive create, then sets the entry again only if absent, because
    /// a delete of the previous head that raced this put may have removed
    /// it in between; so no head exists without its entry. It reads no head
    /// first: an exclusive create that finds one fails (`.none` then reads
    /// it and replaces it with `assert_version`). A put that fails its
    /// condition puts back the entry of the head that is there.
    func commit(_ name: BackendName, condition: WriteCondition, record: HeadRecord, data: RadosBytes, seen hint: SeenHead = .unknown,
                blindReplaceable: Bool = false) async throws -> BackendVersion {
        let head = RadosLayout.head(name)
        var current: RadosHead?
        if condition != .mustNotExist {
            // `.none`: what the caller saw (a hint), else a fresh read; a
            // stale head fails the assert and is read again, a stale
            // absence fails the exclusive create in `create`.
            switch (condition, hint) {
            case (.none, .head(let seen)): current = seen
            case (.none, .absent): current = nil
            default: current = try await currentHead(head)
            }
            var attempts = 0
            while let seen = current, attempts < 4 {
                attempts += 1
                if case .mustMatch(let expected) = condition, expected.rawValue != String(seen.version) {
                    throw Self.conditionFailed(name, "is not at the expected version")
                }
                var replacing = record
                replacing.entry = seen.record.entry
                let steps: [RadosWriteOperation.Step] = [.assertVersion(seen.version), .writeFull(data)]
                    + RadosLayout.headSteps(replacing, blindReplaceable: blindReplaceable)
                do {
                    let version = try await pool.operate(head, RadosWriteOperation(steps))
                    await removeObjects(seen.record.stripeNames(head))
                    return BackendVersion(String(version))
                } catch let error as RadosError where error.code == .versionMismatch || error.code == .notFound {
                    // Another writer (or a delete) got there first: read again; gone: the full path below.
                    guard condition == .none else { throw Self.conditionFailed(name, "changed under the write") }
                    current = try await currentHead(head)
                } catch {
                    throw failure(error, "writing \(name)")
                }
            }
            if current == nil, case .mustMatch = condition { throw Self.conditionFailed(name, "is not at the expected version") }
        }
        return try await create(name, condition: condition, record: record, data: data, seen: current, blindReplaceable: blindReplaceable)
    }

    /// A blind replace (`PutHint.blind`): one write op that replaces the
    /// head only while it says it may be (`atrest.blind`, which also fails
    /// when there is no head), with the new record and bytes; the entry
    /// value (`atrest.entry`) and the mark stay as they are. So it needs
    /// neither the version nor the entry of what it replaces: the head it
    /// replaces is unstriped (no stripes to remove) and of a kind that
    /// leaves the caller nothing to clean up. Anything else fails
    /// `.conditionFailed` and changes nothing: the caller looks and puts
    /// again. A delete racing it either removes the head first (this op
    /// then finds none) or finds its `assert_version` broken by this op
    /// and reads again, as with any replace.
    func replaceBlind(_ name: BackendName, record: HeadRecord, data: RadosBytes) async throws -> BackendVersion {
        let steps: [RadosWriteOperation.Step] = [.compareXattr(name: RadosLayout.blindXattr, value: RadosLayout.blindYes), .writeFull(data),
                                                 .setXattr(name: RadosLayout.headXattr, value: record.bytes)]
        do {
            return BackendVersion(String(try await pool.operate(RadosLayout.head(name), RadosWriteOperation(steps))))
        } catch let error as RadosError where error.code == .comparisonFailed || error.code == .notFound {
            throw Self.conditionFailed(name, error.code == .notFound ? "is not there to be replaced blind" : "may not be replaced blind")
        } catch {
            throw failure(error, "writing \(name)")
        }
    }

    /// The entry, head and entry-again steps of a put (`commit`); `seen`
    /// is the head last read (nil: none was there, or none was read).
    private func create(_ name: BackendName, condition: WriteCondition, record: HeadRecord, data: RadosBytes, seen: RadosHead?,
                        blindReplaceable: Bool) async throws -> BackendVersion {
        let id = Array(record.upload.utf8)
        let head = RadosLayout.head(name)
        do {
            try await updateEntry(name.container, name.object, expecting: nil, set: id)
            let (version, replaced) = try await writeHead(name, condition: condition, record: record, data: data, seen: seen,
                                                          blindReplaceable: blindReplaceable)
            async let restored: Void = restoreEntry(name, id)
            if let replaced, replaced.upload != record.upload {
                await removeObjects(replaced.stripeNames(head))
            }
            _ = await restored
            return BackendVersion(String(version))
        } catch let error as StorageError where error.code == .containerNotFound {
            throw error
        } catch {
            let current = try? await currentHead(name)
            _ = try? await updateEntry(name.container, name.object, expecting: id, set: current.map { Array($0.record.entry.utf8) })
            throw error
        }
    }

    /// Step (3): sets the entry again only if it is absent. It is read
    /// first: a write op whose `omap_cmp` fails costs the OSDs as much as one
    /// that writes (the error is logged and replicated), a read a tenth, and
    /// the entry is nearly always there. Best effort: the collector adds a
    /// missing entry.
    private func restoreEntry(_ name: BackendName, _ id: [UInt8]) async {
        do {
            guard try await entry(name.container, name.object) == nil else { return }
        } catch {
            // Could not read it: set it if absent anyway.
        }
        _ = try? await updateEntry(name.container, name.object, expecting: [], set: id)
    }

    /// One atomic write op on the head: the condition (exclusive create or
    /// assert_version), the bytes and the record. `.none` asserts the
    /// version it read (`seen` first) and retries with a fresh read when
    /// another writer got there first, so it knows which version (and
    /// stripes) it replaced.
    private func writeHead(_ name: BackendName, condition: WriteCondition, record: HeadRecord, data: RadosBytes,
                           seen: RadosHead?, blindReplaceable: Bool) async throws -> (UInt64, HeadRecord?) {
        let head = RadosLayout.head(name)
        var current = seen
        while true {
            var steps: [RadosWriteOperation.Step]
            switch condition {
            case .none:
                steps = current.map { [.assertVersion($0.version)] } ?? [.create(exclusive: true)]
            case .mustNotExist:
                guard current == nil else { throw Self.conditionFailed(name, "already exists") }
                steps = [.create(exclusive: true)]
            case .mustMatch(let expected):
                guard let current, String(current.version) == expected.rawValue else { throw Self.conditionFailed(name, "is not at the expected version") }
                steps = [.assertVersion(current.version)]
            }
            steps += [.writeFull(data)] + RadosLayout.headSteps(record, blindReplaceable: blindReplaceable)
            do {
                return (try await pool.operate(head, RadosWriteOperation(steps)), current?.record)
            } catch let error as RadosError where [.versionMismatch, .alreadyExists, .notFound].contains(error.code) {
                guard condition == .none else {
                    throw Self.conditionFailed(name, error.code == .alreadyExists ? "already exists" : "changed under the write")
                }
                current = try await currentHead(head)
            } catch {
                throw failure(error, "writing \(name)")
            }
        }
    }

    static func conditionFailed(_ name: BackendName, _ why: String) -> StorageError {
        StorageError(.conditionFailed, "backend object \(name) \(why); nothing was written")
    }
}
