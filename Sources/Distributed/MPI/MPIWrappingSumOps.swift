import CMPI

/// User-defined `MPI_Op`s for wrapping (modulo 2^bits) sums of `UInt8` and `UInt16`.
///
/// OpenMPI 4.1's `op/avx` component adds 8- and 16-bit integers with *saturating* vector
/// instructions (open-mpi/ompi#8045, closed as won't-fix), so `MPI_SUM` on `MPI_UINT8_T` returns 255
/// where 200 + 100 should wrap to 44. The project relies on wrapping sums (checksums, packed
/// payloads), so those two types use these ops instead; bfloat16 uses `MPIBFloat16Ops` (held here so
/// that `mpiOp` is the one place an op is chosen); every other type keeps MPI's own ops.
struct MPIWrappingSumOps {
    private(set) var uint8: MPI_Op?
    private(set) var uint16: MPI_Op?
    private var bfloat16: MPIBFloat16Ops

    /// Creates both ops (after `MPI_Init`).
    init() throws {
        var op8: MPI_Op?
        try MPIRuntime.check(MPI_Op_create(wrappingSumUInt8, 1, &op8), "MPI_Op_create")
        var op16: MPI_Op?
        try MPIRuntime.check(MPI_Op_create(wrappingSumUInt16, 1, &op16), "MPI_Op_create")
        uint8 = op8
        uint16 = op16
        bfloat16 = try MPIBFloat16Ops()
    }

    /// The op to use for `op` on `type`: a wrapping sum for UInt8/UInt16 sums, MPI's own otherwise.
    func mpiOp(_ op: ReduceOp, _ type: CommDataType) -> MPI_Op? {
        switch (op, type) {
        case (.sum, .uint8), (.average, .uint8): return uint8
        case (.sum, .uint16), (.average, .uint16): return uint16
        case (_, .bfloat16): return bfloat16.mpiOp(op)
        default: return op.mpi
        }
    }

    /// Frees both ops (before `MPI_Finalize`).
    mutating func free() throws {
        try MPIRuntime.check(MPI_Op_free(&uint8), "MPI_Op_free")
        try MPIRuntime.check(MPI_Op_free(&uint16), "MPI_Op_free")
        try bfloat16.free()
    }
}

/// `inout[i] = inout[i] &+ in[i]` over `UInt8`.
private func wrappingSumUInt8(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?,
                              _ length: UnsafeMutablePointer<Int32>?, _: UnsafeMutablePointer<MPI_Datatype?>?) {
    guard let input, let accumulator, let length else { return }
    ReductionKernels.combine(into: accumulator, from: input, count: Int(length.pointee), type: .uint8, op: .sum)
}

/// `inout[i] = inout[i] &+ in[i]` over `UInt16`.
private func wrappingSumUInt16(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?,
                               _ length: UnsafeMutablePointer<Int32>?, _: UnsafeMutablePointer<MPI_Datatype?>?) {
    guard let input, let accumulator, let length else { return }
    ReductionKernels.combine(into: accumulator, from: input, count: Int(length.pointee), type: .uint16, op: .sum)
}
