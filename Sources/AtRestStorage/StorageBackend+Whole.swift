/// Whole-object conveniences over the verbs, the same for every backend.
extension StorageBackend {
    /// Writes `bytes` as the whole of `name` under `condition`.
    @discardableResult
    public func put(_ name: BackendName, _ bytes: [UInt8], condition: WriteCondition = .none) async throws -> BackendVersion {
        try await putWhole(name, condition: condition, hint: .unknown) { try await $0.append(bytes) }
    }

    /// Writes `buffer` (a sealed object, as stored) as the whole of `name`
    /// under `condition`; nothing is visible on failure.
    @discardableResult
    func put(_ name: BackendName, _ buffer: AlignedBuffer, condition: WriteCondition, hint: PutHint = .unknown,
             blindReplaceable: Bool = false) async throws -> BackendVersion {
        try await putWhole(name, condition: condition, hint: hint, blindReplaceable: blindReplaceable) { try await $0.append(buffer) }
    }

    /// One upload: `append` fills it, then it commits; aborted on any failure.
    private func putWhole(_ name: BackendName, condition: WriteCondition, hint: PutHint, blindReplaceable: Bool = false,
                          _ append: (any BackendUpload) async throws -> Void) async throws -> BackendVersion {
        let upload = try await beginPut(name, condition: condition, hint: hint, blindReplaceable: blindReplaceable)
        do {
            try await append(upload)
            return try await upload.commit()
        } catch {
            await upload.abort()
            throw error
        }
    }

    /// The bytes of `name` (or of `range` of it) and the version they are from.
    public func get(_ name: BackendName, range: Range<UInt64>? = nil) async throws -> (bytes: [UInt8], version: BackendVersion) {
        let object = try await open(name)
        let range = range ?? 0..<object.info.size
        return (try await object.read(at: range.lowerBound, count: Int(range.count)), object.info.version)
    }
}
