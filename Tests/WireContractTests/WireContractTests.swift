import Foundation
import Testing
import AtRestWire
import AtRestWireTesting

/// Every wire message type of the contract, encoded through the real
/// protobuf-c codec with every field set to a non-default value and decoded
/// back equal. A mapping that reads or writes a field under the wrong number,
/// drops a field, or names a field the message does not have fails its row
/// (a thrown `WireError`, never a crash of the test run).
@Suite struct WireContractTests {
    /// One row per message of the contract (every `WireMessage` in AtRestWire).
    static let table = WireSample.contract

    /// Messages of the proto files that are not contract: a service's own
    /// files, round-tripped the same way by that service's unit tests.
    static let privateState: [String: String] = [
        "atrest.v1.VaultState": "AtRestKeyVaultTests.VaultStateEncodingTests",
        "atrest.v1.VaultKeyCreator": "AtRestKeyVaultTests.VaultStateEncodingTests",
        "atrest.v1.AccountRecord": "AtRestFrontDoorTests.RegistryEncodingTests",
        "atrest.v1.AccountRegistryState": "AtRestFrontDoorTests.RegistryEncodingTests",
    ]

    struct Row: CustomTestStringConvertible, Sendable {
        let type: any WireMessage.Type
        var testDescription: String { type.protoName }
    }

    @Test(arguments: table.map(Row.init))
    func everyFieldRoundTrips(_ row: Row) throws {
        try Self.roundTrip(row.type)
    }

    private static func roundTrip<T: WireMessage>(_ type: T.Type) throws {
        #expect(try WireSample.roundTripProblems(type) == [])
    }

    /// No message of the contract is missing from the table: the table and
    /// `privateState` name exactly the top-level messages of proto/atrest/v1 (map entries are
    /// encoded as part of their message), and the generated descriptor table
    /// holds one descriptor for each, plus the map entries.
    @Test func tableCoversEveryMessageOfTheProtoFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let protoDirectory = root.appendingPathComponent("proto/atrest/v1")
        var declared: Set<String> = []
        var mapFields = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: protoDirectory.path) where file.hasSuffix(".proto") {
            let text = try String(contentsOf: protoDirectory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                if line.hasPrefix("message ") { declared.insert("atrest.v1." + line.dropFirst(8).prefix { $0 != " " && $0 != "{" }) }
                if line.contains("map<") { mapFields += 1 }
            }
        }
        let named = Set(Self.table.map { $0.protoName })
        #expect(named.count == Self.table.count, "a message type is listed twice")
        let privateState = Set(Self.privateState.keys)
        #expect(named.isDisjoint(with: privateState), "a private state message is listed as contract")
        #expect(declared.subtracting(named).subtracting(privateState).sorted() == [], "messages without a row in the table")
        #expect(named.union(privateState).subtracting(declared).sorted() == [], "rows without a message in proto/atrest/v1")
        let generated = try String(contentsOf: root.appendingPathComponent("Sources/CAtRestProto/atrest_descriptors.c"), encoding: .utf8)
        let messageTable = generated.components(separatedBy: "ProtobufCServiceDescriptor")[0]
        let descriptors = messageTable.split(separator: "\n").filter { $0.hasPrefix("  &atrest__v1__") }.count
        #expect(descriptors == declared.count + mapFields, "atrest_descriptors.c is out of date: run scripts/gen-proto.sh")
    }

    /// Every `RPCMethod` descriptor, one table per service.
    static let methods: [RPCMethodInfo] = KeyVaultMethod.all + IdentityMethod.all + AccountMethod.all + AccountDataMethod.all + BlobMethod.all + QueueMethod.all + TableMethod.all
        + DiskMethod.all + FileMethod.all + StatusMethod.all + EchoMethod.all

    /// The Swift descriptors are exactly the `rpc`s of the proto `service`
    /// blocks: same names, same request and response messages, none missing
    /// on either side (read from the generated protobuf-c service descriptors).
    @Test func methodDescriptorsMatchTheProtoServices() {
        let declared = WireSchema.serviceMethods()
        #expect(declared.count > 0, "no service descriptors generated: run scripts/gen-proto.sh")
        #expect(Set(Self.methods.map(\.name)).count == Self.methods.count, "a method is listed twice")
        #expect(Set(declared).subtracting(Self.methods).sorted { $0.name < $1.name } == [], "rpcs without a matching RPCMethod")
        #expect(Set(Self.methods).subtracting(declared).sorted { $0.name < $1.name } == [], "RPCMethods without a matching rpc")
    }

    /// A mapping that names a field number its message does not have throws
    /// instead of stopping the process.
    @Test func aFieldNumberTheMessageLacksThrows() {
        struct Misnumbered: WireMessage {
            static let protoName = "atrest.v1.Heartbeat"
            init() {}
            init(wire: WireFields) throws {}
            var wire: WireFields { [1: .uint(UInt64(3)), 99: .uint(UInt64(1))] }
        }
        #expect(throws: WireError.self) { try Misnumbered().encoded() }
        do { _ = try Misnumbered().encoded() } catch {
            #expect(error.code == .invalidField)
            #expect(error.message.contains("atrest.v1.Heartbeat has no field 99"))
        }
    }

    @Test func aValueOfTheWrongKindOrAnUnknownMessageThrows() {
        struct WrongKind: WireMessage {
            static let protoName = "atrest.v1.Heartbeat"
            init() {}
            init(wire: WireFields) throws {}
            var wire: WireFields { [1: .string("three")] }
        }
        struct Unknown: WireMessage {
            static let protoName = "atrest.v1.NoSuchMessage"
            init() {}
            init(wire: WireFields) throws {}
            var wire: WireFields { [:] }
        }
        #expect(throws: WireError.self) { try WrongKind().encoded() }
        #expect(throws: WireError.self) { try Unknown().encoded() }
        #expect(throws: WireError.self) { try Unknown(serialized: [UInt8]()) }
    }
}
