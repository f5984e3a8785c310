import CMPI

/// User-defined `MPI_Op`s that reduce bfloat16 values carried as `MPI_UINT16_T`.
///
/// MPI has no bfloat16 type, and its built-in ops would add (or compare) the 16-bit patterns as
/// integers. These ops run `BFloat16.combine`, the kernel every communicator uses, so MPI and the
/// in-process communicator reduce bfloat16 with the same arithmetic: widen to `Float`, combine, round
/// once to nearest-even. All three are commutative (MPI may then combine ranks in any order).
struct MPIBFloat16Ops {
    private(set) var sum: MPI_Op?
    private(set) var max: MPI_Op?
    private(set) var min: MPI_Op?

    /// Creates the ops (after `MPI_Init`).
    init() throws {
        var s: MPI_Op?, hi: MPI_Op?, lo: MPI_Op?
        try MPIRuntime.check(MPI_Op_create(bfloat16Sum, 1, &s), "MPI_Op_create")
        try MPIRuntime.check(MPI_Op_create(bfloat16Max, 1, &hi), "MPI_Op_create")
        try MPIRuntime.check(MPI_Op_create(bfloat16Min, 1, &lo), "MPI_Op_create")
        sum = s
        max = hi
        min = lo
    }

    /// The op computing `op` on bfloat16 (`.average` reduces with the sum; the caller divides).
    func mpiOp(_ op: ReduceOp) -> MPI_Op? {
        switch op {
        case .sum, .average: return sum
        case .max: return max
        case .min: return min
        }
    }

    /// Frees the ops (before `MPI_Finalize`).
    mutating func free() throws {
        try MPIRuntime.check(MPI_Op_free(&sum), "MPI_Op_free")
        try MPIRuntime.check(MPI_Op_free(&max), "MPI_Op_free")
        try MPIRuntime.check(MPI_Op_free(&min), "MPI_Op_free")
    }
}

/// `inout[i] = bf16(inout[i] + in[i])`.
private func bfloat16Sum(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?,
                         _ length: UnsafeMutablePointer<Int32>?, _: UnsafeMutablePointer<MPI_Datatype?>?) {
    guard let input, let accumulator, let length else { return }
    BFloat16.combine(into: accumulator, from: input, count: Int(length.pointee), op: .sum)
}

/// `inout[i] = max(inout[i], in[i])` compared as numbers.
private func bfloat16Max(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?,
                         _ length: UnsafeMutablePointer<Int32>?, _: UnsafeMutablePointer<MPI_Datatype?>?) {
    guard let input, let accumulator, let length else { return }
    BFloat16.combine(into: accumulator, from: input, count: Int(length.pointee), op: .max)
}

/// `inout[i] = min(inout[i], in[i])` compared as numbers.
private func bfloat16Min(_ input: UnsafeMutableRawPointer?, _ accumulator: UnsafeMutableRawPointer?,
                         _ length: UnsafeMutablePointer<Int32>?, _: UnsafeMutablePointer<MPI_Datatype?>?) {
    guard let input, let accumulator, let length else { return }
    BFloat16.combine(into: accumulator, from: input, count: Int(length.pointee), op: .min)
}
