import AtRestWire

/// Builds a message's fields from its descriptor with every field set to a
/// non-default value, distinct per field (and per element of a list), so a
/// value read under the wrong number shows up as a difference.
public enum WireSample {
    /// Fields whose values a mapping validates or derives, with a valid
    /// non-default value for sample `variant`.
    static func override(_ protoName: String, _ number: UInt32, variant: Int) -> WireValue? {
        switch (protoName, number) {
        case ("atrest.v1.VaultAccessGrant", 4): return .strings(["unwrap", "wrap"])
        case ("atrest.v1.KeyEvent", 1): return .string("rotated")
        case ("atrest.v1.VaultKey", 5): return .string("disabled")
        case ("atrest.v1.VaultKey", 15):
            // Reference counts per version of this key: the key is the enclosing one.
            return .list((1...2).map { version in
                .message(WireFields([1: .message(WireFields([1: .string("provider-\(variant)"), 2: .string("key_id-\(variant)"),
                                                            3: .uint(UInt64(version))])),
                                     2: .uint(UInt64(10 * variant + version))]))
            })
        default: return nil
        }
    }

    public static func fields(_ protoName: String, variant: Int = 1) throws -> WireFields {
        var out = WireFields()
        for field in try WireSchema.fields(of: protoName) {
            if let value = override(protoName, field.number, variant: variant) {
                out.values[field.number] = value
            } else if field.repeated {
                out.values[field.number] = .list(try [variant, variant + 1].map { try value(field, $0) })
            } else {
                out.values[field.number] = try value(field, variant)
            }
        }
        return out
    }

    private static func value(_ field: WireSchema.Field, _ variant: Int) throws -> WireValue {
        let n = Int(field.number) * 10 + variant
        switch field.kind {
        case .signed: return .int(Int64(n))
        case .unsigned: return .uint(UInt64(n))
        case .enumeration: return .int(Int64(variant))
        case .bool: return .bool(true)
        case .floating: return .double(Double(n) + 0.5)
        case .string: return .string("\(field.name)-\(variant)")
        case .bytes: return .bytes([UInt8(truncatingIfNeeded: n), UInt8(variant), 0xA5])
        case .message(let name): return .message(try fields(name, variant: variant))
        }
    }

    /// `fields` without the entries that hold a default value (what a
    /// mapping writes for a field it does not carry), recursively.
    public static func nonDefault(_ fields: WireFields) -> WireFields {
        var out = WireFields()
        for (number, value) in fields.values {
            if let kept = nonDefault(value) { out.values[number] = kept }
        }
        return out
    }

    private static func nonDefault(_ value: WireValue) -> WireValue? {
        switch value {
        case .int(0), .uint(0), .bool(false), .double(0), .string(""), .bytes([]): return nil
        case .list(let items): return items.isEmpty ? nil : .list(items.compactMap { nonDefault($0) ?? $0 })
        case .message(let nested): return .message(nonDefault(nested))
        default: return value
        }
    }

    /// Decodes `T` from its sample fields, encodes it through protobuf-c and
    /// decodes it again; what went wrong, one line each (empty: nothing).
    /// A field read or written under the wrong number, or dropped, shows.
    public static func roundTripProblems<T: WireMessage>(_ type: T.Type) throws -> [String] {
        var problems: [String] = []
        let full = try fields(T.protoName)
        let value = try T(wire: full)
        if nonDefault(value.wire) != full { problems.append("\(T.self) drops or renumbers a field") }
        let back = try T(serialized: try value.encoded())
        if nonDefault(back.wire) != full { problems.append("\(T.self) does not survive the protobuf-c round trip") }
        if let equal = equalIfEquatable(value, back), !equal { problems.append("\(T.self) is not equal after the round trip") }
        return problems
    }

    private static func equalIfEquatable<T>(_ a: T, _ b: T) -> Bool? {
        guard let a = a as? any Equatable else { return nil }
        return isEqual(a, b)
    }

    private static func isEqual<E: Equatable>(_ a: E, _ b: Any) -> Bool { (b as? E) == a }
}

extension WireSample {
    /// Every message type of the contract (every `WireMessage` in AtRestWire):
    /// WireContractTests round-trips each and checks none is missing; the
    /// fuzz-wire target decodes arbitrary bytes as each.
    public static let contract: [any WireMessage.Type] = [
        // AtRestWire: envelope, blob, account, status, echo.
        RPCHeader.self, ReplyHeader.self, RPCStatus.self, WorkerReady.self, Heartbeat.self, Limits.self, EmptyMessage.self,
        EchoRequest.self, EchoReply.self,
        ContainerRequest.self, ContainerListResponse.self, BlobProperties.self, BlobPutRequest.self, BlobRequest.self,
        BlobGetRequest.self, BlobGetResponse.self, BlobSetMetadataRequest.self, BlobListRequest.self, BlobListResponse.self,
        BlobReencryptRequest.self, BlobReencryptResponse.self,
        StageBlockRequest.self, StageBlockResponse.self, CommitBlocksRequest.self,
        QueueRequest.self, QueueProperties.self, QueueListRequest.self, QueueListResponse.self, PutMessageRequest.self,
        QueueMessage.self, QueueMessageList.self, GetMessagesRequest.self, PeekMessagesRequest.self, UpdateMessageRequest.self,
        MessageRequest.self,
        TableRequest.self, TableProperties.self, TableListRequest.self, TableListResponse.self, EntityProperty.self, Entity.self,
        EntityRequest.self, EntityKeyRequest.self, QueryEntitiesRequest.self, EntityList.self, EntityOperation.self,
        EntityBatchRequest.self, EntityBatchResponse.self,
        DiskRequest.self, CreateDiskRequest.self, DiskProperties.self, DiskListRequest.self, DiskListResponse.self,
        ResizeDiskRequest.self, PutPagesRequest.self, PutPageRangesRequest.self, DiskRangeRequest.self, GetPagesResponse.self, DiskPageRange.self,
        PageRangesResponse.self,
        ShareRequest.self, CreateShareRequest.self, SetShareQuotaRequest.self, ShareProperties.self, ShareListRequest.self,
        ShareListResponse.self, FileRequest.self, CreateFileRequest.self, DeleteDirectoryRequest.self, ListDirectoryRequest.self,
        FileProperties.self, ListDirectoryResponse.self, WriteFileRequest.self, ReadFileRequest.self, ReadFileResponse.self,
        ResizeFileRequest.self, SetFileModeRequest.self, SetFileTimesRequest.self, RenameRequest.self,
        AccountCreateRequest.self, AccountRequest.self, AccountListRequest.self, AccountEncryption.self, AccountInfo.self,
        AccountMoveRequest.self, AccountMoveResponse.self, AccountListResponse.self, AccountSetEncryptionRequest.self,
        AccountContext.self, AccountKeyEntry.self, AccountDeleteRequest.self, AccountUsage.self, CollectBlocksRequest.self, CollectBlocksResponse.self,
        EncryptionScope.self, AccountScopeCreateRequest.self, AccountScopeRequest.self, AccountScopeListResponse.self,
        ReencryptJob.self, AccountReencryptRequest.self, AccountReencryptPlanRequest.self, AccountReencryptPlan.self,
        RecordAccountEventRequest.self,
        StatusRequest.self, StatusFigure.self, StatusWorker.self, StatusReply.self,
        // Key vault.
        KeyRef.self, ReferenceCount.self, AccessGrant.self, CreateKeyRequest.self, ImportKeyRequest.self,
        GetImportKeyRequest.self, GetImportKeyResponse.self, KeyRequest.self, RotateKeyRequest.self, KeyResponse.self,
        ListKeysRequest.self, ListKeysResponse.self, AccessRequest.self, AccessResponse.self, WrapRequest.self,
        WrapResponse.self, GenerateWrappedKeyRequest.self, UnwrapRequest.self, UnwrapResponse.self, RewrapRequest.self,
        KeyStatusRequest.self, KeyStatus.self, ReferenceRequest.self, ReferenceResponse.self, AuditEntry.self,
        GetAuditLogRequest.self, GetAuditLogResponse.self, VerifyAuditLogResponse.self, KeyEvent.self,
        VaultIdentityTenant.self, KeyInfo.self,
        // Identity.
        IdentityLoginRequest.self, IdentityToken.self, IdentitySigningKey.self, IdentityKeySet.self, IdentityWhoAmI.self,
        IdentityCreateTenantRequest.self, IdentityTenant.self, IdentityCreateUserRequest.self,
        IdentityCreateServicePrincipalRequest.self, IdentityPrincipal.self, IdentityCreatedPrincipal.self,
        IdentityRoleRequest.self, IdentityAccountRequest.self, IdentityManagedIdentity.self,
        IdentityMoveAccountRequest.self, IdentityMoveAccountReply.self, IdentityRotation.self,
        IdentityListRequest.self, IdentityTenantList.self, IdentityPrincipalList.self,
    ]
}
