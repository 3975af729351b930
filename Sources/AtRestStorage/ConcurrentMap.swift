extension Collection where Element: Sendable {
    /// `transform` of every element, in the collection's order, with at most
    /// `limit` calls running at once: how the store and the backends fan out
    /// independent round trips (header reads, block opens, copies) without
    /// flooding a networked backend. The first error cancels the rest.
    public func concurrentMap<T: Sendable>(limit: Int, _ transform: @escaping @Sendable (Element) async throws -> T) async throws -> [T] {
        precondition(limit > 0, "limit must be positive")
        return try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var pending = enumerated().makeIterator()
            func start() {
                guard let (index, element) = pending.next() else { return }
                group.addTask { (index, try await transform(element)) }
            }
            for _ in 0..<limit { start() }
            while let (index, result) = try await group.next() {
                results[index] = result
                start()
            }
            return results.map { $0! }
        }
    }
}
