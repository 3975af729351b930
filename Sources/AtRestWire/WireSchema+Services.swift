internal import CAtRestProto

extension WireSchema {
    /// Every rpc of the `service` blocks of proto/atrest/v1, from the
    /// generated protobuf-c service descriptors: what the `RPCMethod`
    /// descriptors must match (WireContractTests).
    public static func serviceMethods() -> [RPCMethodInfo] {
        var methods: [RPCMethodInfo] = []
        var index = 0
        while let service = atrest_service_descriptor_at(index)?.pointee {
            let serviceName = String(cString: service.name)
            for m in 0..<Int(service.n_methods) {
                let method = service.methods[m]
                methods.append(RPCMethodInfo(name: serviceName + "/" + String(cString: method.name),
                                             request: String(cString: method.input.pointee.name),
                                             response: String(cString: method.output.pointee.name)))
            }
            index += 1
        }
        return methods
    }
}
