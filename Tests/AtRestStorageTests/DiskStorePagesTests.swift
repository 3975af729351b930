@testable import AtRestStorage
import AtRestTesting
import Testing

/// A sparse in-memory disk the random test compares with: pages written
/// (absent: zeros) and the chunks that hold a record, under the store's
/// rules (a write stores every chunk it touches; a clear removes the
/// chunks it covers whole and a partly cleared chunk once it is all zeros).
struct ReferenceDisk {
    var size: UInt64
    var pages: [UInt64: [UInt8]] = [:]
    var stored: Set<UInt64> = []

    static let page = DiskLimits.pageSize, chunk = DiskLimits.chunkSize

    mutating func write(_ offset: UInt64, _ data: [UInt8]) {
        for index in 0..<UInt64(data.count) / Self.page {
            pages[offset / Self.page + index] = Array(data[Int(index * Self.page)..<Int((index + 1) * Self.page)])
        }
        for chunk in offset / Self.chunk...(offset + UInt64(data.count) - 1) / Self.chunk { stored.insert(chunk) }
    }

    mutating func clear(_ from: UInt64, _ to: UInt64) {
        guard from < to else { return }
        for page in from / Self.page..<to / Self.page { pages[page] = nil }
        for chunk in from / Self.chunk...(to - 1) / Self.chunk {
            let start = chunk * Self.chunk
            let whole = from <= start && start + Self.chunk <= to
            if whole || read(start, Int(Self.chunk)).allSatisfy({ $0 == 0 }) { stored.remove(chunk) }
        }
    }

    mutating func resize(_ newSize: UInt64) {
        clear(min(size, newSize), max(size, newSize))
        size = newSize
    }

    func read(_ offset: UInt64, _ length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let end = offset + UInt64(length)
        for page in offset / Self.page...(end - 1) / Self.page {
            guard let bytes = pages[page] else { continue }
            let start = page * Self.page, from = max(start, offset), to = min(start + Self.page, end)
            out.replaceSubrange(Int(from - offset)..<Int(to - offset), with: bytes[Int(from - start)..<Int(to - start)])
        }
        return out
    }

    func ranges(_ offset: UInt64, _ length: UInt64) -> [PageRange] {
        var out: [PageRange] = []
        let end = offset + length
        for chunk in stored.sorted() {
            let from = max(chunk * Self.chunk, offset), to = min((chunk + 1) * Self.chunk, end)
            guard from < to else { continue }
            if let last = out.last, last.offset + last.length == from { out[out.count - 1].length += to - from } else { out.append(PageRange(offset: from, length: to - from)) }
        }
        return out
    }
}

extension DiskStoreContract {
    /// Thousands of random writes (sub-chunk to 4 MiB), clears, reads, range
    /// listings and resizes (shrink and grow) against `ReferenceDisk`, in
    /// windows at the start, across the first region boundary (1 GiB) and
    /// at the end of a disk of just over 1 GiB; after every change the
    /// touched range reads back as the reference says, and at the end
    /// every window and the whole disk's ranges do.
    static func randomOperations(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let store = DiskStore(backend: one), other = DiskStore(backend: two)
        let fullSize = GiB + 16 * MiB
        var reference = ReferenceDisk(size: fullSize)
        try await store.createDisk(account: account, name: "random", size: fullSize, accountKey: key)
        var random = SplitMix(seed: 17)
        let windows: [UInt64] = [0, GiB - 4 * MiB, GiB + 8 * MiB]
        let windowSize = 8 * MiB
        var counts: [String: Int] = [:]

        /// A page-aligned range in a random window, within the size now.
        func range(maxPages: UInt64) -> (UInt64, UInt64)? {
            let base = windows.randomElement(using: &random)!
            let pages = UInt64.random(in: 1...maxPages, using: &random)
            let start = base + UInt64.random(in: 0..<windowSize / 512, using: &random) * 512
            let end = min(start + pages * 512, reference.size, base + windowSize)
            return start < end ? (start, end - start) : nil
        }

        for step in 0..<3000 {
            let roll = Int.random(in: 0..<100, using: &random)
            // Mostly small, sometimes up to 4 MiB (several batches of 256 chunks).
            let maxPages: UInt64 = Int.random(in: 0..<20, using: &random) == 0 ? 8192 : 24
            switch roll {
            case 0..<55:
                guard let (offset, length) = range(maxPages: maxPages) else { continue }
                let data = Fixtures.data(Int(length), seed: UInt8(truncatingIfNeeded: step))
                try await store.writePages(account: account, name: "random", offset: offset, data: data, accountKey: key)
                reference.write(offset, data)
                counts["write", default: 0] += 1
                // The write and a chunk either side (just the write when that is more than one read takes).
                var (from, to) = (offset >= 4096 ? offset - 4096 : 0, min(reference.size, offset + length + 4096))
                if to - from > UInt64(DiskLimits.maxIO) { (from, to) = (offset, offset + length) }
                #expect(try await other.readPages(account: account, name: "random", offset: from, length: Int(to - from), accountKey: key)
                        == reference.read(from, Int(to - from)), "step \(step): write [\(offset), +\(length))")
            case 55..<70:
                guard let (offset, length) = range(maxPages: maxPages * 4) else { continue }
                try await store.clearPages(account: account, name: "random", offset: offset, length: length, accountKey: key)
                reference.clear(offset, offset + length)
                counts["clear", default: 0] += 1
                #expect(try await read(store, "random", offset, length, key) == [UInt8](repeating: 0, count: Int(length)),
                        "step \(step): clear [\(offset), +\(length))")
            case 70..<88:
                guard let (offset, length) = range(maxPages: maxPages) else { continue }
                // Reads need no alignment: shift the start by up to a page.
                let shift = min(UInt64.random(in: 0..<512, using: &random), length - 1)
                #expect(try await other.readPages(account: account, name: "random", offset: offset + shift, length: Int(length - shift), accountKey: key)
                        == reference.read(offset + shift, Int(length - shift)), "step \(step): read")
                counts["read", default: 0] += 1
            case 88..<97:
                let base = windows.randomElement(using: &random)!
                let length = min(UInt64.random(in: 1...windowSize, using: &random), reference.size - min(base, reference.size))
                guard length > 0 else { continue }
                #expect(try await store.pageRanges(account: account, name: "random", offset: base, length: length, accountKey: key)
                        == reference.ranges(base, length), "step \(step): ranges")
                counts["ranges", default: 0] += 1
            default:
                // Shrink into the last window (or below the boundary region's end) and grow back.
                let newSize = reference.size < fullSize ? fullSize
                    : GiB + UInt64.random(in: 0..<(fullSize - GiB) / 512, using: &random) * 512
                try await store.resize(account: account, name: "random", size: newSize, accountKey: key)
                reference.resize(newSize)
                counts["resize", default: 0] += 1
            }
        }
        #expect(counts.values.reduce(0, +) > 2500 && counts.count == 5, "\(counts)")
        for base in windows where base < reference.size {
            let length = min(windowSize, reference.size - base)
            #expect(try await read(other, "random", base, length, key) == reference.read(base, Int(length)))
        }
        #expect(try await other.pageRanges(account: account, name: "random", offset: 0, length: reference.size, accountKey: key)
                == reference.ranges(0, reference.size))
        // The tail beyond a shrink reads as zeros after the grow.
        try await store.resize(account: account, name: "random", size: GiB, accountKey: key)
        try await store.resize(account: account, name: "random", size: fullSize, accountKey: key)
        reference.resize(GiB)
        reference.resize(fullSize)
        #expect(try await other.readPages(account: account, name: "random", offset: GiB, length: 4 << 20, accountKey: key) == [UInt8](repeating: 0, count: 4 << 20))
        #expect(try await other.pageRanges(account: account, name: "random", offset: 0, length: fullSize, accountKey: key) == reference.ranges(0, fullSize))
    }

    /// [offset, offset + length) of disk `name`, read 4 MiB at a time.
    static func read(_ store: DiskStore, _ name: String, _ offset: UInt64, _ length: UInt64, _ key: AccountKey) async throws -> [UInt8] {
        var out: [UInt8] = [], at = offset
        while at < offset + length {
            let count = Int(min(UInt64(DiskLimits.maxIO), offset + length - at))
            out += try await store.readPages(account: account, name: name, offset: at, length: count, accountKey: key)
            at += UInt64(count)
        }
        return out
    }

    /// Racing writers of one chunk from two stores (two connections):
    /// writers of different pages all land (each partly covered chunk is
    /// read, changed and written conditional on what was read); writers of
    /// the same pages leave, per 512-byte page, one writer's bytes whole,
    /// and every chunk still authenticates.
    static func concurrentWriters(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let stores = [DiskStore(backend: one), DiskStore(backend: two)]
        try await stores[0].createDisk(account: account, name: "shared", size: 64 * MiB, accountKey: key)

        // Eight writers, one page each of chunk `round`: every page lands.
        for round in 0..<12 {
            let base = UInt64(round) * 4096
            try await withThrowingTaskGroup(of: Void.self) { group in
                for page in 0..<8 {
                    group.addTask {
                        try await stores[page % 2].writePages(account: account, name: "shared", offset: base + UInt64(page) * 512,
                                                              data: fill(UInt8(16 * round + page + 1), 512), accountKey: key)
                    }
                }
                try await group.waitForAll()
            }
            let read = try await stores[round % 2].readPages(account: account, name: "shared", offset: base, length: 4096, accountKey: key)
            let expected: [UInt8] = (0..<8).flatMap { page in fill(UInt8(16 * round + page + 1), 512) }
            #expect(read == expected, "round \(round)")
        }

        // Two writers of the same 9 KiB (partly covered chunks at both ends, whole ones between) with different bytes in every page.
        for round in 0..<12 {
            let offset = 8 * MiB + UInt64(round) * 64 * 1024 + 1536, length = 9 * 1024
            let writers = (0..<2).map { writer in (0..<length / 512).flatMap { page in fill(UInt8(1 + writer * 100 + page), 512) } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<2 {
                    group.addTask {
                        try await stores[writer].writePages(account: account, name: "shared", offset: offset, data: writers[writer], accountKey: key)
                    }
                }
                try await group.waitForAll()
            }
            let read = try await stores[round % 2].readPages(account: account, name: "shared", offset: offset, length: length, accountKey: key)
            for page in 0..<length / 512 {
                let bytes = Array(read[page * 512..<(page + 1) * 512])
                #expect(bytes == Array(writers[0][page * 512..<(page + 1) * 512]) || bytes == Array(writers[1][page * 512..<(page + 1) * 512]),
                        "round \(round) page \(page) is a mix")
            }
        }
        // Clears racing writes of other pages of the same chunks: the writes land, the cleared pages read as zeros.
        for round in 0..<8 {
            let base = 16 * MiB + UInt64(round) * 8192
            try await stores[0].writePages(account: account, name: "shared", offset: base, data: fill(0xEE, 8192), accountKey: key)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await stores[0].clearPages(account: account, name: "shared", offset: base, length: 1024, accountKey: key) }
                group.addTask { try await stores[1].clearPages(account: account, name: "shared", offset: base + 4096, length: 1024, accountKey: key) }
                group.addTask { try await stores[1].writePages(account: account, name: "shared", offset: base + 2048, data: fill(0x11, 512), accountKey: key) }
                group.addTask { try await stores[0].writePages(account: account, name: "shared", offset: base + 6144, data: fill(0x22, 512), accountKey: key) }
                try await group.waitForAll()
            }
            let half: (UInt8) -> [UInt8] = { mark in [fill(0, 1024), fill(0xEE, 1024), fill(mark, 512), fill(0xEE, 1536)].flatMap { $0 } }
            let expected = half(0x11) + half(0x22)
            #expect(try await stores[1].readPages(account: account, name: "shared", offset: base, length: 8192, accountKey: key) == expected, "round \(round)")
        }
    }
}

extension DiskStoreContract {
    /// Several page writes in one call (PutPageRanges): ranges in any
    /// order, whole chunks, partial chunks, two ranges in one chunk, the
    /// disk's last page; what they leave equals the writes one by one
    /// (read through the other connection); a call that breaks a rule
    /// (overlap, beyond the end, misaligned, empty, too many, over 4 MiB)
    /// writes none of its ranges.
    static func writesOfRanges(_ one: any StorageBackend, _ two: any StorageBackend) async throws {
        let key = try Fixtures.accountKey()
        let a = DiskStore(backend: one), b = DiskStore(backend: two)
        try await a.createDisk(account: account, name: "ranges", size: MiB, accountKey: key)
        var reference = ReferenceDisk(size: MiB)
        let writes: [(offset: UInt64, data: [UInt8])] = [
            (8192, Fixtures.data(4096, seed: 1)),
            (0, Fixtures.data(512, seed: 2)),
            (512, Fixtures.data(512, seed: 3)),  // the chunk of the range before: each its own write
            (20480 + 512, Fixtures.data(1024, seed: 4)),
            (MiB - 512, Fixtures.data(512, seed: 5)),
            (65536, Fixtures.data(40960, seed: 6)),
        ]
        try await a.writePages(account: account, name: "ranges", ranges: writes, accountKey: key)
        for write in writes { reference.write(write.offset, write.data) }
        #expect(try await b.readPages(account: account, name: "ranges", offset: 0, length: Int(MiB), accountKey: key) == reference.read(0, Int(MiB)))
        #expect(try await b.pageRanges(account: account, name: "ranges", offset: 0, length: MiB, accountKey: key) == reference.ranges(0, MiB))

        // Whole chunks only (one set of batches): the same as one by one.
        var whole: [(offset: UInt64, data: [UInt8])] = []
        for index in 0..<16 {
            let chunk = UInt64(index * 37 % 200 + 20)
            whole.append((chunk * 4096, Fixtures.data(4096, seed: UInt8(10 + index))))
        }
        try await b.writePages(account: account, name: "ranges", ranges: whole, accountKey: key)
        for write in whole { reference.write(write.offset, write.data) }
        #expect(try await a.readPages(account: account, name: "ranges", offset: 0, length: Int(MiB), accountKey: key) == reference.read(0, Int(MiB)))

        let untouched = Fixtures.data(512, seed: 99)
        let bad: [(String, [(offset: UInt64, data: [UInt8])])] = [
            ("overlap", [(300 * 512, untouched), (4096, fill(1, 4096)), (4096 + 3584, fill(2, 1024))]),
            ("beyond the disk's end", [(300 * 512, untouched), (MiB, fill(1, 512))]),
            ("multiples of 512", [(300 * 512, untouched), (1000, fill(1, 512))]),
            ("512 bytes or more", [(300 * 512, untouched), (4096, [])]),
            ("1 to 1024 ranges", []),
            ("1 to 1024 ranges", (0..<1025).map { (UInt64($0) * 512, fill(1, 512)) }),
            ("4 MiB", [(300 * 512, untouched), (0, fill(1, 4 << 20))]),
        ]
        for (text, ranges) in bad {
            await expectError(.invalidArgument, text) { try await a.writePages(account: account, name: "ranges", ranges: ranges, accountKey: key) }
        }
        #expect(try await b.readPages(account: account, name: "ranges", offset: 0, length: Int(MiB), accountKey: key) == reference.read(0, Int(MiB)))
        await expectError(.notFound, "disk 'gone' does not exist") {
            try await a.writePages(account: account, name: "gone", ranges: [(0, fill(1, 512))], accountKey: key)
        }
    }
}
