/// The element types a communicator can move and reduce, independent of any MPI header.
///
/// Each case has one fixed memory layout; `MPICommunicator` maps it to the matching MPI datatype
/// (`MPI_FLOAT`, `MPI_DOUBLE`, `MPI_INT32_T`, `MPI_INT64_T`, `MPI_UINT8_T`, `MPI_UINT16_T`,
/// `MPI_UINT64_T`) and `InProcessCommunicator` reduces it with the same arithmetic: IEEE addition for
/// floating point, wrapping (two's complement) addition for integers. `bfloat16` travels as
/// `MPI_UINT16_T` and is reduced by user-defined ops that compute in `Float` (see `BFloat16`).
public enum CommDataType: String, Sendable, CaseIterable {
    /// IEEE 754 binary32 (`Float`).
    case float32
    /// IEEE 754 binary64 (`Double`).
    case float64
    /// Signed 32-bit integer (`Int32`).
    case int32
    /// Signed 64-bit integer (`Int64`, `Int` on 64-bit platforms).
    case int64
    /// Unsigned 8-bit integer (`UInt8`).
    case uint8
    /// Unsigned 16-bit integer (`UInt16`), e.g. bfloat16 bit patterns carried as payload.
    case uint16
    /// Unsigned 64-bit integer (`UInt64`), e.g. checksums.
    case uint64
    /// bfloat16 (`BFloat16`): compressed gradients; reduced in `Float`, rounded to nearest-even.
    case bfloat16

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .uint8: return 1
        case .uint16, .bfloat16: return 2
        case .float32, .int32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// Whether the type is floating point (only these support `ReduceOp.average`).
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 || self == .bfloat16 }
}
