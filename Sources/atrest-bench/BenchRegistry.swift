import ArgumentParser

/// Every benchmark subcommand; add one line per benchmark.
enum BenchRegistry {
    static let all: [any ParsableCommand.Type] = [
        MessagingBench.self,
        CryptoBench.self,
        StorageBench.self, StorageSmallBench.self,
        IdentityBench.self,
        VaultBench.self,
        EndToEndBench.self,
        FileCallsBench.self,
        ScaleBench.self,
        RadosBench.self,
        RecordsBench.self,
        QueueBench.self,
        TableBench.self,
        DiskStoreBench.self,
        NBDBench.self,
        FUSEBench.self, FilesBench.self,
        InfrastructureBench.self,
        ZMQFloorPart.self,  // e2e's helper process, hidden
    ]
}
