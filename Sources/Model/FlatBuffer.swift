import Foundation

/// An owned, 64-byte-aligned, zero-initialised buffer of Floats: the spine of the model.
///
/// Parameters, gradients and the AdamW moments are each one `FlatBuffer` with the layout of
/// `GPTLayout`. It is a class so that views, optimizers and communicators share one allocation;
/// it is never resized.
public final class FlatBuffer: @unchecked Sendable {
    /// Start of the storage.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Floats.
    public let count: Int

    /// Allocates `count` zeroed Floats.
    public init(count: Int) {
        precondition(count >= 0, "FlatBuffer count must be non-negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }

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
