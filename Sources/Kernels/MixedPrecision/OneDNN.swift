import CDNNL

/// The oneDNN library: status checks and version.
public enum OneDNN {
    /// Throws `OneDNNError` when `status` is not success; `failed` names the call that returned it.
    static func check(_ status: dnnl_status_t, _ failed: UnsafePointer<CChar>?) throws {
        guard status != dnnl_success else { return }
        throw OneDNNError(call: failed.map { String(cString: $0) } ?? "oneDNN", status: name(of: status),
                          unimplemented: status == dnnl_unimplemented)
    }

    /// Runs a shim helper that reports its failing call through `failed`, checking its status.
    @inline(__always)
    static func call(_ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> dnnl_status_t) throws {
        var failed: UnsafePointer<CChar>? = nil
        let status = body(&failed)
        try check(status, failed)
    }

    static func name(of status: dnnl_status_t) -> String {
        switch status {
        case dnnl_out_of_memory: "out of memory"
        case dnnl_invalid_arguments: "invalid arguments"
        case dnnl_unimplemented: "unimplemented"
        case dnnl_iterator_ends: "iterator ends"
        case dnnl_runtime_error: "runtime error"
        case dnnl_not_required: "not required"
        default: "status \(status.rawValue)"
        }
    }

    /// The library's version, e.g. "2.6.3".
    public static var version: String {
        guard let v = dnnl_version()?.pointee else { return "unknown" }
        return "\(v.major).\(v.minor).\(v.patch)"
    }
}
