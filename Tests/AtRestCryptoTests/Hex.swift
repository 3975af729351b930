import AtRestCrypto

/// Known-answer vectors are written as hex (white space ignored); `Hex` is the library's.
func hex(_ text: String) -> [UInt8] { Hex.decode(text.filter { !$0.isWhitespace })! }

func hexString(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
