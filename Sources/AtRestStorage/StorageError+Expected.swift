extension StorageError {
    /// Runs `body`; false when it failed with `code` (an expected outcome,
    /// such as a name already taken, not an error of the call).
    static func succeeds(unless code: StorageError.Code, _ body: () async throws -> Void) async throws -> Bool {
        do {
            try await body()
            return true
        } catch let error as StorageError where error.code == code {
            return false
        }
    }
}
