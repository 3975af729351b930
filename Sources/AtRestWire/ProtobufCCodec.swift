internal import CAtRestProto
import Glibc
import Synchronization

/// Packs and unpacks messages with protobuf-c, driven by the generated
/// descriptors.
///
/// Why one generic codec instead of hand-written code per message: every
/// message then needs only a field-number mapping in Swift (`WireMessage`),
/// the pointer work lives in this one file, and it is tested once for every
/// field kind. The descriptors come from the committed generated code, so
/// the encoding is exactly protobuf-c's.
enum ProtobufCCodec {
    /// The descriptor for a full proto name; a missing one means the
    /// generated code and the Swift mapping disagree (`.invalidField`, never a
    /// crash: WireContractTests reports it per message type).
    static func descriptor(named name: String) throws(WireError) -> UnsafePointer<ProtobufCMessageDescriptor> {
        if let cached = DescriptorCache.shared.lookup(name) { return cached }
        guard let found = atrest_message_descriptor(name) else {
            throw WireError(.invalidField, "no generated protobuf-c descriptor for \(name); run scripts/gen-proto.sh")
        }
        DescriptorCache.shared.store(name, found)
        return found
    }

    // MARK: pack

    /// Throws `.invalidField` when the mapping names a field number the
    /// message does not have, or gives a value of the wrong kind.
    static func pack(_ fields: WireFields, messageNamed name: String) throws(WireError) -> [UInt8] {
        let descriptor = try descriptor(named: name)
        let arena = Arena()
        return try withExtendedLifetime(arena) { () throws(WireError) -> [UInt8] in
            let message = try build(fields, descriptor, arena)
            let size = protobuf_c_message_get_packed_size(message)
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = protobuf_c_message_pack(message, buffer.baseAddress)
            }
        }
    }

    /// Builds a C message in memory owned by `arena`.
    private static func build(
        _ fields: WireFields, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, _ arena: Arena
    ) throws(WireError) -> UnsafeMutablePointer<ProtobufCMessage> {
        let d = descriptor.pointee
        let raw = arena.allocate(d.sizeof_message)
        let message = raw.assumingMemoryBound(to: ProtobufCMessage.self)
        d.message_init(message)
        for (number, value) in fields.values {
            guard let field = fieldDescriptor(descriptor, number) else {
                throw WireError(.invalidField, "\(String(cString: d.name)) has no field \(number)")
            }
            try set(value, field, in: raw, arena)
        }
        return message
    }

    private static func set(
        _ value: WireValue, _ field: UnsafePointer<ProtobufCFieldDescriptor>,
        in message: UnsafeMutableRawPointer, _ arena: Arena
    ) throws(WireError) {
        let f = field.pointee
        let slot = message + Int(f.offset)
        if f.label == PROTOBUF_C_LABEL_REPEATED {
            guard case .list(let items) = value else {
                throw WireError(.invalidField, "field \(String(cString: f.name)) is repeated: give a .list")
            }
            let stride = elementSize(f.type)
            let array = arena.allocate(max(1, stride * items.count))
            for (index, item) in items.enumerated() {
                try store(item, f, at: array + index * stride, arena)
            }
            (message + Int(f.quantifier_offset)).storeBytes(of: items.count, as: Int.self)
            slot.storeBytes(of: items.isEmpty ? nil : array, as: UnsafeMutableRawPointer?.self)
            return
        }
        try store(value, f, at: slot, arena)
        if f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
            (message + Int(f.quantifier_offset)).storeBytes(of: f.id, as: UInt32.self)
        } else if f.label == PROTOBUF_C_LABEL_OPTIONAL, f.type != PROTOBUF_C_TYPE_STRING,
                  f.type != PROTOBUF_C_TYPE_MESSAGE {
            (message + Int(f.quantifier_offset)).storeBytes(of: 1, as: Int32.self)
        }
    }

    /// Stores one scalar, string, bytes or message value at `slot`.
    private static func store(
        _ value: WireValue, _ f: ProtobufCFieldDescriptor, at slot: UnsafeMutableRawPointer, _ arena: Arena
    ) throws(WireError) {
        switch (f.type, value) {
        case (PROTOBUF_C_TYPE_INT32, .int(let v)), (PROTOBUF_C_TYPE_SINT32, .int(let v)),
             (PROTOBUF_C_TYPE_SFIXED32, .int(let v)), (PROTOBUF_C_TYPE_ENUM, .int(let v)):
            slot.storeBytes(of: Int32(truncatingIfNeeded: v), as: Int32.self)
        case (PROTOBUF_C_TYPE_UINT32, .uint(let v)), (PROTOBUF_C_TYPE_FIXED32, .uint(let v)):
            slot.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        case (PROTOBUF_C_TYPE_INT64, .int(let v)), (PROTOBUF_C_TYPE_SINT64, .int(let v)),
             (PROTOBUF_C_TYPE_SFIXED64, .int(let v)):
            slot.storeBytes(of: v, as: Int64.self)
        case (PROTOBUF_C_TYPE_UINT64, .uint(let v)), (PROTOBUF_C_TYPE_FIXED64, .uint(let v)):
            slot.storeBytes(of: v, as: UInt64.self)
        case (PROTOBUF_C_TYPE_BOOL, .bool(let v)):
            slot.storeBytes(of: v ? 1 : 0, as: Int32.self)
        case (PROTOBUF_C_TYPE_FLOAT, .double(let v)):
            slot.storeBytes(of: Float(v), as: Float.self)
        case (PROTOBUF_C_TYPE_DOUBLE, .double(let v)):
            slot.storeBytes(of: v, as: Double.self)
        case (PROTOBUF_C_TYPE_STRING, .string(var v)):
            let copy = v.withUTF8 { utf8 in
                let copy = arena.allocate(utf8.count + 1)
                if utf8.count > 0 { copy.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
                (copy + utf8.count).storeBytes(of: 0, as: UInt8.self)
                return copy
            }
            slot.storeBytes(of: copy, as: UnsafeMutableRawPointer?.self)
        case (PROTOBUF_C_TYPE_BYTES, .bytes(let v)):
            let copy = arena.allocate(max(1, v.count))
            v.withUnsafeBytes { if $0.count > 0 { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            slot.storeBytes(
                of: ProtobufCBinaryData(len: v.count, data: copy.assumingMemoryBound(to: UInt8.self)),
                as: ProtobufCBinaryData.self)
        case (PROTOBUF_C_TYPE_MESSAGE, .message(let nested)):
            let sub = f.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            slot.storeBytes(of: try build(nested, sub, arena), as: UnsafeMutablePointer<ProtobufCMessage>?.self)
        default:
            throw WireError(.invalidField,
                "field \(String(cString: f.name)): value \(value) does not fit protobuf-c type \(f.type.rawValue)")
        }
    }

    // MARK: unpack

    static func unpack(_ bytes: some Collection<UInt8>, messageNamed name: String) throws -> WireFields {
        if let result = try bytes.withContiguousStorageIfAvailable({ buffer in
            try unpack(UnsafeRawBufferPointer(buffer), messageNamed: name)
        }) {
            return result
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { try unpack($0, messageNamed: name) }
    }

    static func unpack(_ buffer: UnsafeRawBufferPointer, messageNamed name: String) throws -> WireFields {
        let descriptor = try descriptor(named: name)
        let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // protobuf-c wants a non-null pointer even for an empty message.
        var empty: UInt8 = 0
        // The unpacked message lives in an arena, freed as a whole once it is
        // read: one allocation instead of one per field.
        let arena = Arena()
        return try withExtendedLifetime(arena) {
            var allocator = ProtobufCAllocator(
                alloc: arenaAllocate, free: arenaFree, allocator_data: Unmanaged.passUnretained(arena).toOpaque())
            let message: UnsafeMutablePointer<ProtobufCMessage>? = withUnsafePointer(to: &empty) { emptyPointer in
                protobuf_c_message_unpack(descriptor, &allocator, buffer.count, base ?? emptyPointer)
            }
            guard let message else {
                throw WireError(.malformed, "bytes are not a valid \(name) (\(buffer.count) bytes)")
            }
            try checkStrings(UnsafeRawBufferPointer(start: base, count: buffer.count), descriptor)
            return read(UnsafeRawPointer(message), descriptor)
        }
    }

    private static func read(
        _ message: UnsafeRawPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> WireFields {
        let d = descriptor.pointee
        var fields = WireFields()
        // Room for every field up front: grown insert by insert, resizing the table was a fifth of
        // decoding a page of 1000 entities (thousands of small messages).
        fields.values.reserveCapacity(Int(d.n_fields))
        for index in 0..<Int(d.n_fields) {
            let f = d.fields[index]
            let slot = message + Int(f.offset)
            if f.label == PROTOBUF_C_LABEL_REPEATED {
                let count = (message + Int(f.quantifier_offset)).load(as: Int.self)
                guard count > 0, let array = slot.load(as: UnsafeRawPointer?.self) else { continue }
                let stride = elementSize(f.type)
                var items: [WireValue] = []
                items.reserveCapacity(count)
                for i in 0..<count {
                    if let item = load(f, at: array + i * stride) { items.append(item) }
                }
                fields[f.id] = .list(items)
                continue
            }
            if f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                guard (message + Int(f.quantifier_offset)).load(as: UInt32.self) == f.id else { continue }
            } else if f.label == PROTOBUF_C_LABEL_OPTIONAL, f.type != PROTOBUF_C_TYPE_STRING,
                      f.type != PROTOBUF_C_TYPE_MESSAGE {
                guard (message + Int(f.quantifier_offset)).load(as: Int32.self) != 0 else { continue }
            }
            if let value = load(f, at: slot) { fields[f.id] = value }
        }
        return fields
    }

    private static func load(_ f: ProtobufCFieldDescriptor, at slot: UnsafeRawPointer) -> WireValue? {
        switch f.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_ENUM:
            return .int(Int64(slot.load(as: Int32.self)))
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            return .uint(UInt64(slot.load(as: UInt32.self)))
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            return .int(slot.load(as: Int64.self))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            return .uint(slot.load(as: UInt64.self))
        case PROTOBUF_C_TYPE_BOOL:
            return .bool(slot.load(as: Int32.self) != 0)
        case PROTOBUF_C_TYPE_FLOAT:
            return .double(Double(slot.load(as: Float.self)))
        case PROTOBUF_C_TYPE_DOUBLE:
            return .double(slot.load(as: Double.self))
        case PROTOBUF_C_TYPE_STRING:
            // Whole: `checkStrings` refused any string with a NUL before this runs.
            guard let cString = slot.load(as: UnsafePointer<CChar>?.self) else { return nil }
            return .string(String(cString: cString))
        case PROTOBUF_C_TYPE_BYTES:
            let data = slot.load(as: ProtobufCBinaryData.self)
            guard data.len > 0, let bytes = data.data else { return .bytes([]) }
            return .bytes(Array(UnsafeBufferPointer(start: bytes, count: data.len)))
        case PROTOBUF_C_TYPE_MESSAGE:
            guard let nested = slot.load(as: UnsafeRawPointer?.self) else { return nil }
            let sub = f.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            return .message(read(nested, sub))
        default:
            return nil
        }
    }

    // MARK: helpers

    private static func fieldDescriptor(
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, _ number: UInt32
    ) -> UnsafePointer<ProtobufCFieldDescriptor>? {
        let d = descriptor.pointee
        for index in 0..<Int(d.n_fields) where d.fields[index].id == number {
            return d.fields + index
        }
        return nil
    }

    /// The size of one element of a repeated field's C array.
    private static func elementSize(_ type: ProtobufCType) -> Int {
        switch type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_ENUM,
             PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_TYPE_BOOL:
            return 4
        case PROTOBUF_C_TYPE_BYTES:
            return MemoryLayout<ProtobufCBinaryData>.stride
        default:
            return 8
        }
    }
}

/// Owns every allocation made while building one C message; freed at once.
///
/// A bump allocator over zeroed chunks: a typical message (an RPC header,
/// a reply header) fits in the first, so building one costs one allocation
/// instead of one per field; a larger one gets chunks twice the last, and an
/// allocation over half the next chunk a block of its own.
private final class Arena {
    /// The first chunk; each next one twice the last, up to `maxChunkSize`, so a message of
    /// thousands of fields costs a few allocations, not one per field.
    private static let firstChunkSize = 1024
    private static let maxChunkSize = 1 << 20
    private var chunk: UnsafeMutableRawPointer
    private var chunkSize = Arena.firstChunkSize
    private var used = 0
    private var blocks: [UnsafeMutableRawPointer] = []

    init() {
        chunk = calloc(1, Arena.firstChunkSize)!
    }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let aligned = (max(size, 1) + 15) & ~15
        if used + aligned <= chunkSize {
            defer { used += aligned }
            return chunk + used
        }
        let next = min(chunkSize * 2, Arena.maxChunkSize)
        if aligned > next / 2 {  // large: a block of its own, the current chunk stays in use
            let block = calloc(1, aligned)!
            blocks.append(block)
            return block
        }
        blocks.append(chunk)
        chunk = calloc(1, next)!
        chunkSize = next
        used = aligned
        return chunk
    }

    deinit {
        free(chunk)
        for block in blocks { free(block) }
    }
}

/// protobuf-c's allocator callbacks over an `Arena` (freed all at once).
private let arenaAllocate: @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer? = { data, size in
    Unmanaged<Arena>.fromOpaque(data!).takeUnretainedValue().allocate(size)
}
private let arenaFree: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, _ in }

/// Descriptor pointers by name; the generated table is searched once per name.
private final class DescriptorCache: Sendable {
    static let shared = DescriptorCache()
    /// Addresses of static C data, stored as integers so the table is Sendable.
    private let table = Mutex<[String: UInt]>([:])

    func lookup(_ name: String) -> UnsafePointer<ProtobufCMessageDescriptor>? {
        guard let address = table.withLock({ $0[name] }) else { return nil }
        return UnsafePointer(bitPattern: address)
    }

    func store(_ name: String, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) {
        table.withLock { $0[name] = UInt(bitPattern: descriptor) }
    }
}
