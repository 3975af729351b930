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
    /// Call once at startup, before the first large allocation.
    public static func keepLargeBuffers() {
        // <malloc.h> values (not in the Glibc module map).
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3, arenaMax: Int32 = -8
        _ = glibcMallopt(mmapThreshold, 32 << 20)
        _ = glibcMallopt(trimThreshold, 128 << 20)
        _ = glibcMallopt(arenaMax, 2)
    }

    /// Gives the heap's free memory back to the kernel (glibc
    /// `malloc_trim(0)`: the top of every arena and whole free pages inside
    /// them). It walks the heap while holding each arena's lock, so call it
    /// when the process is idle, not per call.
    @discardableResult
    public static func releaseFreeMemory() -> Bool { glibcMallocTrim(0) != 0 }
}

/// glibc's `int malloc_trim(size_t pad)`.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

/// glibc's `int mallopt(int param, int value)`.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
