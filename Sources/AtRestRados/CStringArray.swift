/// Key/value pairs laid out as the C arrays librados' omap calls take
/// (pointers plus lengths, so values may hold any byte).
enum CStringArray {
    static func withPairs<R>(
        _ entries: [String: [UInt8]],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>, UnsafePointer<Int>, Int) -> R
    ) -> R {
        let pairs = entries.sorted { $0.key < $1.key }
        // One buffer per side (keys NUL-terminated, as some calls read them as C strings).
        var keyBytes: [CChar] = [], valueBytes: [CChar] = []
        var keyOffsets: [Int] = [], valueOffsets: [Int] = [], keyLengths: [Int] = [], valueLengths: [Int] = []
        for (key, value) in pairs {
            let utf8 = Array(key.utf8)
            keyOffsets.append(keyBytes.count); keyLengths.append(utf8.count)
            keyBytes += utf8.map { CChar(bitPattern: $0) } + [0]
            valueOffsets.append(valueBytes.count); valueLengths.append(value.count)
            valueBytes += value.map { CChar(bitPattern: $0) }
        }
        valueBytes.append(0)  // a valid base address even when every value is empty
        return keyBytes.withUnsafeBufferPointer { keyBase in
            valueBytes.withUnsafeBufferPointer { valueBase in
                let keys: [UnsafePointer<CChar>?] = keyOffsets.map { keyBase.baseAddress! + $0 }
                let values: [UnsafePointer<CChar>?] = valueOffsets.map { valueBase.baseAddress! + $0 }
                return keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        keyLengths.withUnsafeBufferPointer { kl in
                            valueLengths.withUnsafeBufferPointer { vl in
                                body(k.baseAddress ?? UnsafePointer(bitPattern: 1)!, v.baseAddress ?? UnsafePointer(bitPattern: 1)!,
                                     kl.baseAddress ?? UnsafePointer(bitPattern: 1)!, vl.baseAddress ?? UnsafePointer(bitPattern: 1)!, pairs.count)
                            }
                        }
                    }
                }
            }
        }
    }
}
