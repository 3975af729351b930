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
    /// `keepFreeMiB` is the trim threshold: the free memory at the top of an
    /// arena beyond which glibc gives it back. The crypto workers pass
    /// `workerKeepFreeMiB`.
    @discardableResult
    public static func keepLargeBuffers(keepFreeMiB: Int = 128) -> Bool {
        let applied = [atrest_linux_mallopt_mmap_threshold(32 << 20),
                       atrest_linux_mallopt_trim_threshold(Int32(clamping: keepFreeMiB << 20)),
                       atrest_linux_mallopt_arena_max(2)]
        return applied.allSatisfy { $0 == 1 }
    }

    /// A crypto worker's trim threshold: 8 blocks in flight × (received
    /// 4 MiB frame + sealed buffer) is ~64 MiB in use, split over 2 arenas,
    /// so 32 MiB free per arena still reuses the blocks of a steady stream,
    /// while 128 MiB let a worker's peak RSS reach 258–277 MiB in the 64 MiB
    /// e2e bench (issue 19's target is < 256 MiB). Alternating runs, loaded
    /// machine, 5 December 2026 (docs/DATA-PATH.md "Against the machine's
    /// limits", session 14): peak 206 MiB at 32, 245 at 64, 262 at 128; the
    /// worker's CPU per GiB put did not rise.
    public static let workerKeepFreeMiB = 32

    /// Gives the heap's free memory back to the kernel (glibc
    /// `malloc_trim(0)`: the top of every arena and whole free pages inside
    /// them). It walks the heap while holding each arena's lock, so call it
    /// when the process is idle, not per call.
    @discardableResult
    public static func releaseFreeMemory() -> Bool { atrest_linux_malloc_trim(0) != 0 }
}
