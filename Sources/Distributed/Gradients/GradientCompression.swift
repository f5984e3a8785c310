/// How gradients travel in the data-parallel allreduce.
///
/// - `none`: `Float` as computed (4 bytes per element).
/// - `bf16`: each bucket is rounded to bfloat16 (nearest-even) into a side buffer allocated once,
///   allreduced with a bfloat16 sum (each pairwise addition computed in `Float` and rounded once), then
///   widened back into the `Float` gradient: half the bytes on the wire, at the cost of bfloat16's
///   relative precision (2⁻⁹ per rounding) in the averaged gradient. Local accumulation over
///   micro-batches, clipping and the optimizer stay in `Float`.
public enum GradientCompression: String, Sendable, CaseIterable {
    /// Send `Float` gradients.
    case none
    /// Send bfloat16 gradients (half the bytes).
    case bf16

    /// Bytes on the wire per gradient element.
    public var bytesPerElement: Int { self == .bf16 ? 2 : 4 }
}
