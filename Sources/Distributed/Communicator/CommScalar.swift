/// A Swift type that communicators can send and reduce element by element.
///
/// The conforming type's memory layout must be exactly that of `commDataType` (size and encoding):
/// communicators move and reduce raw memory, so it must also be a trivial type (no references). The
/// library conforms `Float`, `Double`, `Int32`, `Int64`,
/// `Int` (64-bit platforms), `UInt8`, `UInt16` and `UInt64`.
public protocol CommScalar: Sendable {
    /// The wire and arithmetic type of one element.
    static var commDataType: CommDataType { get }
}

// The conformances, one line each: the element type each Swift type travels as.
extension Float: CommScalar { public static var commDataType: CommDataType { .float32 } }
extension Double: CommScalar { public static var commDataType: CommDataType { .float64 } }
extension Int32: CommScalar { public static var commDataType: CommDataType { .int32 } }
extension Int64: CommScalar { public static var commDataType: CommDataType { .int64 } }
#if arch(x86_64) || arch(arm64)
extension Int: CommScalar { public static var commDataType: CommDataType { .int64 } } // 64-bit platforms only
#endif
extension UInt8: CommScalar { public static var commDataType: CommDataType { .uint8 } }
extension UInt16: CommScalar { public static var commDataType: CommDataType { .uint16 } }
extension UInt64: CommScalar { public static var commDataType: CommDataType { .uint64 } }
