import AtRestStorage
import AtRestWire

extension FileService {
    func registerDataMethods(_ router: inout RPCRouter) {
        router.register(FileMethod.createFile) { (request: CreateFileRequest, rpc) async throws -> FileProperties in
            // A payload (1 B-4 MiB) is the new file's data.
            let parts = rpc.parts
            let length = parts.reduce(0) { $0 + $1.count }
            if length > 0 { _ = try Self.ioLength(UInt64(length), "a file created with data") }
            return try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                let data = parts.isEmpty ? [] : parts.count == 1 ? parts[0].bytes : parts.joined()
                return Self.wire(try await files.createFile(account: account, share: request.share, path: request.path, size: request.size,
                                                            mode: request.mode == 0 ? 0o644 : request.mode, metadata: request.metadata,
                                                            data: data, mtime: request.mtimeMs, accountKey: key))
            }
        }
        router.register(FileMethod.writeFile) { (request: WriteFileRequest, rpc) async throws -> EmptyMessage in
            let parts = rpc.parts
            _ = try Self.ioLength(UInt64(parts.reduce(0) { $0 + $1.count }), "a file write")
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                let data = parts.count == 1 ? parts[0].bytes : parts.joined()
                try await files.writeFile(account: account, share: request.share, path: request.path, offset: request.offset, data: data,
                                          accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(FileMethod.readFile) { (request: ReadFileRequest, rpc) async throws -> (ReadFileResponse, [PayloadPart]) in
            let length = try Self.ioLength(request.length, "a file read")
            return try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                let data = try await files.readFileBuffer(account: account, share: request.share, path: request.path, offset: request.offset,
                                                          length: length, accountKey: key)
                return (ReadFileResponse(length: UInt64(data.count)), data.payload)
            }
        }
        router.register(FileMethod.resizeFile) { (request: ResizeFileRequest, rpc) async throws -> FileProperties in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.resizeFile(account: account, share: request.share, path: request.path, size: request.size, accountKey: key))
            }
        }
        router.register(FileMethod.flushFile) { (request: FileRequest, rpc) async throws -> FileProperties in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.flushFile(account: account, share: request.share, path: request.path, accountKey: key))
            }
        }
        router.register(FileMethod.deleteFile) { (request: FileRequest, rpc) async throws -> EmptyMessage in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                try await files.deleteFile(account: account, share: request.share, path: request.path, accountKey: key)
            }
            return EmptyMessage()
        }
    }
}
