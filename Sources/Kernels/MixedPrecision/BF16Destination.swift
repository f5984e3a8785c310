/// Where a fused AdamW step writes the bf16-rounded copy of the weights it updates.
public struct BF16Destination {
    /// The first element's rounded copy.
    public let pointer: UnsafeMutableRawPointer
    /// bf16 bits (true) or rounded floats (false).
    public let native: Bool

    @inline(__always) func store16(_ i: Int, _ v: SIMD16<Float>) { BF16Rounding.store16(pointer, i, v, native: native) }
    @inline(__always) func storePartial16(_ i: Int, _ n: Int, _ v: SIMD16<Float>) {
        BF16Rounding.storePartial16(pointer, i, n, v, native: native)
    }
}
