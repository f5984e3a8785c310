import Foundation
import Support

/// An owned, 64-byte-aligned, zero-initialised buffer of Floats: the spine of the model.
///
/// Parameters, gradients and the AdamW moments are each one `FlatBuffer` with the layout of
/// `GPTLayout`. It is a class so that views, optimizers and communicators share one allocation;
/// it is never resized. Running out of memory is a thrown `AllocationError`, never a crash.
public final class FlatBuffer: @unchecked Sendable {
    /// Start of the storage.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Floats.
    public let count: Int

    /// Allocates `count` zeroed Floats; throws `AllocationError` when the system has not the memory.
    public init(count: Int) throws {
        precondition(count >= 0, "FlatBuffer count must be non-negative")
        self.count = count
        pointer = try AllocationError.allocate(filling: 0, count: count)
    }

    deinit { free(pointer) }

    /// The whole buffer as a mutable buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// A sub-range as a mutable buffer pointer (no copy).
    public subscript(range: Range<Int>) -> UnsafeMutableBufferPointer<Float> {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range \(range) outside buffer of \(count)")
        return UnsafeMutableBufferPointer(start: pointer + range.lowerBound, count: range.count)
    }

    /// Sets every element to zero.
    public func zero() { memset(pointer, 0, count * MemoryLayout<Float>.stride) }

    /// Copies the contents into a new array (tests, export).
    public func toArray() -> [Float] { Array(buffer) }
}
