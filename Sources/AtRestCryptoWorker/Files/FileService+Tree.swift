import AtRestStorage
import AtRestWire

extension FileService {
    func registerTreeMethods(_ router: inout RPCRouter) {
        router.register(FileMethod.createDirectory) { (request: CreateFileRequest, rpc) async throws -> FileProperties in
            guard request.size == 0 else { throw RPCStatus(.invalidArgument, "a directory has no size: send size 0, not \(request.size)") }
            guard request.mtimeMs == nil else {
                throw RPCStatus(.invalidArgument, "CreateDirectory takes no modification time: set it with SetFileTimes once the directory is made")
            }
            return try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.createDirectory(account: account, share: request.share, path: request.path,
                                                          mode: request.mode == 0 ? 0o755 : request.mode, metadata: request.metadata,
                                                          accountKey: key))
            }
        }
        router.register(FileMethod.deleteDirectory) { (request: DeleteDirectoryRequest, rpc) async throws -> EmptyMessage in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                try await files.deleteDirectory(account: account, share: request.share, path: request.path, recursive: request.recursive,
                                                accountKey: key)
            }
            return EmptyMessage()
        }
        router.register(FileMethod.listDirectory) { (request: ListDirectoryRequest, rpc) async throws -> ListDirectoryResponse in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                let page = try await files.listDirectory(account: account, share: request.share, path: request.path,
                                                         continuation: request.continuation.isEmpty ? nil : request.continuation,
                                                         limit: Self.pageSize(request.pageSize), accountKey: key)
                return ListDirectoryResponse(entries: page.entries.map(Self.wire), continuation: page.continuation ?? "")
            }
        }
        router.register(FileMethod.getFileProperties) { (request: FileRequest, rpc) async throws -> FileProperties in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.properties(account: account, share: request.share, path: request.path, accountKey: key))
            }
        }
        router.register(FileMethod.setFileMetadata) { (request: FileRequest, rpc) async throws -> FileProperties in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.setMetadata(account: account, share: request.share, path: request.path, metadata: request.metadata,
                                                      accountKey: key))
            }
        }
        router.register(FileMethod.setFileMode) { (request: SetFileModeRequest, rpc) async throws -> FileProperties in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.setMode(account: account, share: request.share, path: request.path, mode: request.mode, accountKey: key))
            }
        }
        router.register(FileMethod.setFileTimes) { (request: SetFileTimesRequest, rpc) async throws -> FileProperties in
            try await withFiles(rpc, share: request.share, paths: [request.path]) { files, account, key in
                Self.wire(try await files.setTimes(account: account, share: request.share, path: request.path, mtime: request.mtimeMs,
                                                   accountKey: key))
            }
        }
        router.register(FileMethod.rename) { (request: RenameRequest, rpc) async throws -> EmptyMessage in
            try await withFiles(rpc, share: request.share, paths: [request.from, request.to]) { files, account, key in
                if request.exchange {
                    try await files.exchange(account: account, share: request.share, request.from, request.to, accountKey: key)
                } else {
                    try await files.rename(account: account, share: request.share, from: request.from, to: request.to, replace: request.replace,
                                           accountKey: key)
                }
            }
            return EmptyMessage()
        }
    }
}
