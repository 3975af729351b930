/// Opens a sealed object: checks the header, the key, the metadata block and
/// that the data region's size matches the authenticated length, then
/// decrypts whole objects, streams, or only the segments a range touches.
public final class ObjectReader {
    public let metadata: ObjectMetadata
    let header: ObjectHeader
    let headerBytes: [UInt8]
    let cipher: SegmentCipher
    let source: any ObjectSource
    /// How the key's customer-provided key (if any) relates to this object's;
    /// the store refuses data and metadata unless it is `.none` or `.matches`
    /// (`requireCustomerKey`); a listing does not ask.
    let customerKeyMatch: CustomerKeyCheck.Match
    let dataOffset: UInt64
    private let segmentCount: UInt64

    public init(source: any ObjectSource, accountKey accountKeys: AccountKey, context: [UInt8]) throws {
        self.source = source
        let preamble = try source.read(at: 0, count: min(Int(source.size), ObjectHeader.preambleSize))
        let fixedLength = try ObjectHeader.fixedLength(fromPreamble: preamble)
        let fixed = try source.read(at: 0, count: fixedLength)
        header = try ObjectHeader.decode(fixed)
        // The KEK part of the reference (provider, key id, version) records
        // which KEK wrapped the account key when the object was written; a
        // KEK rotation or a switch to another KEK re-wraps the same account
        // key, so only the account key version and the check value must match.
        // An older account key version (rotation) opens with that version's key.
        let accountKey = try accountKeys.opening(version: header.keyReference.accountKeyVersion)
        guard ConstantTimeCheck.equal(header.keyCheckValue, accountKey.checkValue) else {
            throw StorageError(.wrongKey, "the account key given for \(header.keyReference) does not match the key the object was written with (key check value differs)")
        }
        customerKeyMatch = try CustomerKeyCheck.match(header, accountKey)
        cipher = try SegmentCipher(header: header, accountKey: accountKey, context: context,
                                   customerKey: customerKeyMatch == .matches ? accountKey.customerKey : nil)
        var r = ByteReader(try source.read(at: UInt64(fixedLength), count: 16))
        let metaNonce = Array(try r.take(12))
        let metaLength = Int(try r.u32())
        guard metaLength <= 1 << 24 else { throw StorageError.integrity("metadata block too large") }
        let sealed = try source.read(at: UInt64(fixedLength + 16), count: metaLength + cipher.overhead)
        metadata = try cipher.openMetadata(nonce: metaNonce, sealed: sealed)
        headerBytes = fixed + r.bytes + sealed
        dataOffset = UInt64(headerBytes.count)
        guard source.size >= dataOffset,
              let length = SegmentLayout.plaintextLength(sealedSize: source.size - dataOffset, segmentSize: header.segmentSize,
                                                        overhead: cipher.overhead),
              length == metadata.length || header.flags.contains(.manifest) else {
            throw StorageError.integrity("data region size does not match the object's length (truncated or extended)")
        }
        dataLength = length
        segmentCount = SegmentLayout.segmentCount(length: length, segmentSize: header.segmentSize)
    }

    /// Throws unless the request's customer-provided key fits this object:
    /// none for none, the same key for one written with a key.
    func requireCustomerKey() throws { try CustomerKeyCheck.require(customerKeyMatch) }

    /// The stored bytes that hold the segments `range` of plaintext touches
    /// (`range` not empty, within `length`).
    func sealedSpan(of range: Range<UInt64>) -> Range<UInt64> {
        let size = UInt64(header.segmentSize), stride = size + UInt64(cipher.overhead)
        let first = range.lowerBound / size, last = (range.upperBound - 1) / size
        return (dataOffset + first * stride)..<min(source.size, dataOffset + (last + 1) * stride)
    }

    /// Plaintext length of the data stream (for a manifest object, of the manifest).
    public let dataLength: UInt64
    var length: UInt64 { dataLength }
    var isManifest: Bool { header.flags.contains(.manifest) }

    /// Streams the plaintext of `range` to `sink`, decrypting only the
    /// segments it touches; memory stays at two segments.
    public func read(range: Range<UInt64>, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withoutActuallyEscaping(sink) { try read(range: range, to: .sink($0)) }
    }

    /// Decrypts the plaintext of `range` into `output` (exactly
    /// `range.count` bytes): the segments it covers whole straight into it,
    /// a partly covered first or last one through a scratch segment.
    public func read(range: Range<UInt64>, into output: UnsafeMutableRawBufferPointer) throws {
        try read(range: range, to: .buffer(output))
    }

    func read(range: Range<UInt64>, to destination: PlaintextDestination) throws {
        guard range.upperBound <= length else {
            throw StorageError(.invalidArgument, "range \(range) is outside the object (length \(length))")
        }
        if case .buffer(let output) = destination, output.count != range.count {
            throw StorageError(.invalidArgument, "output buffer holds \(output.count) bytes, the range \(range.count)")
        }
        if range.isEmpty { return }
        let size = header.segmentSize
        let sealedScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size + cipher.overhead, alignment: 64)
        // Allocated on the first segment that is not opened in place.
        var plain: UnsafeMutableRawBufferPointer?
        defer {
            sealedScratch.deallocate()
            if let plain {
                plain.initializeMemory(as: UInt8.self, repeating: 0)
                plain.deallocate()
            }
        }
        let first = range.lowerBound / UInt64(size), last = (range.upperBound - 1) / UInt64(size)
        for index in first...last {
            let segStart = index * UInt64(size)
            let segEnd = min(segStart + UInt64(size), length)
            let lo = Int(max(range.lowerBound, segStart) - segStart)
            let hi = Int(min(range.upperBound, segEnd) - segStart)
            if case .buffer(let output) = destination, lo == 0, segStart + UInt64(hi) == segEnd {
                let at = Int(segStart - range.lowerBound)
                _ = try openSegment(index, scratch: sealedScratch, into: UnsafeMutableRawBufferPointer(rebasing: output[at..<(at + hi)]))
                continue
            }
            let scratch = plain ?? .allocate(byteCount: size, alignment: 64)
            plain = scratch
            _ = try openSegment(index, scratch: sealedScratch, into: scratch)
            let piece = UnsafeRawBufferPointer(rebasing: scratch[lo..<hi])
            switch destination {
            case .sink(let sink): try sink(piece)
            case .buffer(let output):
                let at = Int(segStart + UInt64(lo) - range.lowerBound)
                UnsafeMutableRawBufferPointer(rebasing: output[at..<(at + piece.count)]).copyMemory(from: piece)
            }
        }
    }

    /// The whole plaintext in one array; segments are decrypted straight into it.
    public func readAll() throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = Int(length)
        }
    }

    /// Decrypts the whole plaintext into `output` (at least `length` bytes),
    /// segment by segment, with no intermediate copy for in-memory sources.
    public func read(into output: UnsafeMutableRawBufferPointer) throws {
        let total = Int(length), size = header.segmentSize
        guard output.count >= total else { throw StorageError(.invalidArgument, "output buffer holds \(output.count) bytes, object has \(total)") }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size + cipher.overhead, alignment: 64)
        defer { scratch.deallocate() }
        for index in 0..<segmentCount {
            let lo = Int(index) * size, hi = min(lo + size, total)
            _ = try openSegment(index, scratch: scratch, into: UnsafeMutableRawBufferPointer(rebasing: output[lo..<hi]))
        }
    }

    /// Decrypts segment `index` into `plain`; returns its plaintext size.
    private func openSegment(_ index: UInt64, scratch: UnsafeMutableRawBufferPointer, into plain: UnsafeMutableRawBufferPointer) throws -> Int {
        let size = UInt64(header.segmentSize)
        let stride = size + UInt64(cipher.overhead)
        let isLast = index == segmentCount - 1
        let plainCount = isLast ? Int(length - index * size) : Int(size)
        let sealedCount = plainCount + cipher.overhead
        try source.withBytes(at: dataOffset + index * stride, count: sealedCount, scratch: scratch) { sealed in
            try cipher.open(index: UInt32(index), last: isLast, sealed, into: plain)
        }
        return plainCount
    }
}

import AtRestCrypto

enum ConstantTimeCheck {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool { ConstantTime.equals(a, b) }
}

extension ObjectReader {
    /// A new header for the same object with `metadata` sealed under its key
    /// (fresh nonce); the fixed header, and so every segment, stays valid.
    func resealedHeader(_ metadata: ObjectMetadata) throws -> [UInt8] {
        try cipher.fixedHeader + cipher.sealMetadata(metadata)
    }
}
