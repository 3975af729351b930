internal import CAtRestLinux

/// Allocator settings for processes that move multi-MiB messages (the front
/// door and the crypto workers).
///
/// By default glibc serves every allocation above its mmap threshold with a
/// fresh `mmap` and returns it with `munmap` on free, so each 1-4 MiB frame,
/// payload copy and reply buffer is zero-filled page by page by the kernel
/// (page faults were ~15% of a worker's CPU in `atrest-bench scale`). Raising
/// the mmap and trim thresholds keeps those buffers in the heap for reuse;
/// two arenas bound the memory kept per process on a small machine.
public enum MemoryTuning {
    /// Call once at startup, before the first large allocation; false when
    /// glibc refused a setting (the process then runs with its defaults).
    @discardableResult
    public static func keepLargeBuffers() -> Bool {
        let applied = [atrest_linux_mallopt_mmap_threshold(32 << 20),
                       atrest_linux_mallopt_trim_threshold(128 << 20),
                       atrest_linux_mallopt_arena_max(2)]
        return applied.allSatisfy { $0 == 1 }
    }

    /// Gives the heap's free memory back to the kernel (glibc
    /// `malloc_trim(0)`: the top of every arena and whole free pages inside
    /// them). It walks the heap while holding each arena's lock, so call it
    /// when the process is idle, not per call.
    @discardableResult
    public static func releaseFreeMemory() -> Bool { atrest_linux_malloc_trim(0) != 0 }
}
