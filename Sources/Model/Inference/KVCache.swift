/// The keys and values of every position a `GPTInference` has seen, per layer, for batch 1.
///
/// Shapes: L layers, P = `capacity` positions (≤ model.max_seq_len), C channels, NH heads, hs = C/NH.
/// Layer l's keys are a (P, C) row-major block, head h in columns [h·hs, (h+1)·hs) (the k part of
/// the fused qkv projection); values likewise. Allocated once; `count` positions are valid.
public final class KVCache {
    /// Positions the cache holds at most.
    public let capacity: Int
    /// Valid positions (the next token goes at `count`).
    public internal(set) var count = 0
    let L: Int, C: Int
    let storage: FlatBuffer

    /// A cache for `capacity` positions of a model with `layers` layers of `channels` channels.
    public init(layers: Int, channels: Int, capacity: Int) throws {
        precondition(layers >= 0 && channels > 0 && capacity > 0, "bad KV-cache shape")
        L = layers; C = channels; self.capacity = capacity
        storage = try FlatBuffer(count: max(1, 2 * layers * capacity * channels))
    }

    /// Forgets every position (the buffers are kept).
    public func reset() { count = 0 }

    /// Keys of layer `l`: (P, C).
    @inline(__always) func keys(_ l: Int) -> UnsafeMutablePointer<Float> { storage.pointer + (2 * l) * capacity * C }

    /// Values of layer `l`: (P, C).
    @inline(__always) func values(_ l: Int) -> UnsafeMutablePointer<Float> { storage.pointer + (2 * l + 1) * capacity * C }

    /// Bytes held.
    public var bytes: Int { storage.count * MemoryLayout<Float>.stride }
}
