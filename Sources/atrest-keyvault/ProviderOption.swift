import ArgumentParser
import AtRestKeyVault

/// Parses `--provider` values: a shipped provider name (`managed`,
/// `customer`, `revoked-test`, `ctest`) or `NAME=LIBRARY` for any other
/// plug-in; `--provider-config NAME=key=value;...` adds its config string.
enum ProviderOption {
    static func specs(_ values: [String], configs: [String]) throws -> [ProviderSpec] {
        var configByName: [String: String] = [:]
        for entry in configs {
            guard let eq = entry.firstIndex(of: "=") else {
                throw ValidationError("--provider-config expects NAME=key=value;..., got '\(entry)'")
            }
            configByName[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        let specs = try values.map { value -> ProviderSpec in
            if let eq = value.firstIndex(of: "=") {
                let name = String(value[..<eq])
                return ProviderSpec(name: name, library: String(value[value.index(after: eq)...]), config: configByName[name] ?? "")
            }
            return ProviderSpec.named(value, config: configByName[value] ?? "")
        }
        for name in configByName.keys where !specs.contains(where: { $0.name == name }) {
            throw ValidationError("--provider-config names '\(name)', which is not a --provider")
        }
        return specs
    }
}
