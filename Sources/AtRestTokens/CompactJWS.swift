import AtRestCrypto
import AtRestWire
import FoundationEssentials

/// Compact JWS (RFC 7515 §7.1) with EdDSA (RFC 8037): encode and split.
///
/// Only what AtRest needs: one algorithm, one header shape. Parsing rejects
/// everything else with UNAUTHENTICATED and a reason a caller can act on.
package enum CompactJWS {
    package static let algorithm = "EdDSA"

    package struct Header: Codable {
        package var alg: String?
        package var typ: String?
        package var kid: String?
        package var crit: [String]?
    }

    /// A token split into its parts; the signature is not yet checked.
    package struct Parsed {
        package var header: Header
        package var kid: String
        /// The ASCII bytes "header.payload" the signature covers.
        package var signingInput: ArraySlice<UInt8>
        package var payload: [UInt8]
        package var signature: [UInt8]
    }

    /// Signs `claims` with `key` under `kid`.
    package static func sign(_ claims: TokenClaims, kid: String, key: Ed25519.PrivateKey) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = try encoder.encode(Header(alg: algorithm, typ: "JWT", kid: kid))
        let payload = try encoder.encode(claims)
        let input = Base64URL.encode(Array(header)) + "." + Base64URL.encode(Array(payload))
        let signature = try key.signature(for: Array(input.utf8))
        return input + "." + Base64URL.encode(signature)
    }

    package static func parse(_ token: String, maxBytes: Int) throws(RPCStatus) -> Parsed {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxBytes else {
            throw RPCStatus(.unauthenticated, "token rejected: \(bytes.count) bytes is larger than the \(maxBytes)-byte limit")
        }
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else {
            throw RPCStatus(.unauthenticated, "token rejected: not a compact JWS (expected 3 base64url parts separated by '.', got \(dots.count + 1))")
        }
        let headerPart = bytes[..<dots[0]]
        let payloadPart = bytes[(dots[0] + 1)..<dots[1]]
        let signaturePart = bytes[(dots[1] + 1)...]
        guard let headerJSON = Base64URL.decode(utf8: headerPart),
              let header = try? JSONDecoder().decode(Header.self, from: Data(headerJSON)) else {
            throw RPCStatus(.unauthenticated, "token rejected: the header is not base64url-encoded JSON")
        }
        guard let alg = header.alg else {
            throw RPCStatus(.unauthenticated, "token rejected: the header has no 'alg'; AtRest tokens are signed with EdDSA")
        }
        guard alg == algorithm else {
            let why = alg.lowercased() == "none" ? "unsigned tokens (alg 'none') are never accepted" : "only EdDSA (Ed25519) signatures are accepted"
            throw RPCStatus(.unauthenticated, "token rejected: alg '\(alg.prefix(32))' is not allowed; \(why)")
        }
        if let typ = header.typ, typ.uppercased() != "JWT" {
            throw RPCStatus(.unauthenticated, "token rejected: typ '\(typ.prefix(32))' is not 'JWT'")
        }
        if let crit = header.crit, !crit.isEmpty {
            throw RPCStatus(.unauthenticated, "token rejected: critical header extensions \(crit.prefix(4)) are not supported")
        }
        guard let kid = header.kid, !kid.isEmpty else {
            throw RPCStatus(.unauthenticated, "token rejected: the header has no 'kid', so no verification key can be chosen")
        }
        guard let payload = Base64URL.decode(utf8: payloadPart) else {
            throw RPCStatus(.unauthenticated, "token rejected: the payload is not base64url")
        }
        guard let signature = Base64URL.decode(utf8: signaturePart), signature.count == Ed25519.signatureSize else {
            throw RPCStatus(.unauthenticated, "token rejected: the signature is not a base64url Ed25519 signature (64 bytes)")
        }
        return Parsed(header: header, kid: kid, signingInput: bytes[..<dots[1]], payload: payload, signature: signature)
    }
}
