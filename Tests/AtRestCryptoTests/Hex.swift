/// Hex helpers for known-answer vectors.
func hex(_ text: String) -> [UInt8] {
    let chars = Array(text.filter { !$0.isWhitespace }.utf8)
    precondition(chars.count % 2 == 0, "odd hex length")
    return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(decoding: chars[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
