import Support

/// A oneDNN call that failed: the call's name and the status it returned.
///
/// Every oneDNN call goes through the helpers of the CDNNL shim, which report the first failing call;
/// `OneDNN.check` turns that into this error, the one error path of the library.
public struct OneDNNError: UserFacingError, Equatable {
    /// The oneDNN function that failed, e.g. "dnnl_primitive_desc_create".
    public let call: String
    /// Its status, e.g. "unimplemented".
    public let status: String
    /// Whether the status is `dnnl_unimplemented`: no implementation for this CPU and data type.
    public let unimplemented: Bool

    public var message: String { "oneDNN: \(call) failed (\(status))" }
    public var description: String { message }
}
