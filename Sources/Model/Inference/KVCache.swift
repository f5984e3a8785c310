/// The keys and values of every position an incremental decoder (`GPTInference`, `T5Inference`) has
/// seen, per layer and per row (beam).
///
/// Shapes: L layers, R = `rows` sequences decoded side by side (beams; 1 for plain decoding),
/// P = `capacity` positions, C channels (heads side by side, head h in columns [h·hs, (h+1)·hs)).
/// Layer l's keys of row r are a (P, C) row-major block; values likewise. Every row holds `count`
/// valid positions. `reorder` gathers rows (beam search keeps the beams that survived a step) through a
/// scratch block allocated once. Allocated once.
public final class KVCache {
    /// Positions the cache holds at most.
    public let capacity: Int
    /// Sequences held side by side.
    public let rows: Int
    /// Valid positions (the next token goes at `count`).
    public internal(set) var count = 0
    let L: Int, C: Int
    let storage: FlatBuffer
    private let scratch: FlatBuffer?   // (R, P, C): rows being moved by `reorder`

    /// A cache for `capacity` positions of `rows` sequences of a model with `layers` layers of `channels` channels.
    public init(layers: Int, channels: Int, capacity: Int, rows: Int = 1) throws {
        precondition(layers >= 0 && channels > 0 && capacity > 0 && rows > 0, "bad KV-cache shape")
        L = layers; C = channels; self.capacity = capacity; self.rows = rows
        storage = try FlatBuffer(count: max(1, 2 * layers * rows * capacity * channels))
        scratch = rows > 1 ? try FlatBuffer(count: rows * capacity * channels) : nil
    }

    /// Forgets every position (the buffers are kept).
    public func reset() { count = 0 }

    /// Keys of layer `l`, row `row`: (P, C).
    @inline(__always) func keys(_ l: Int, row: Int = 0) -> UnsafeMutablePointer<Float> {
        storage.pointer + ((2 * l) * rows + row) * capacity * C
    }

    /// Values of layer `l`, row `row`: (P, C).
    @inline(__always) func values(_ l: Int, row: Int = 0) -> UnsafeMutablePointer<Float> {
        storage.pointer + ((2 * l + 1) * rows + row) * capacity * C
    }

    /// Makes row j hold what row `sources[j]` held, for every j < `sources.count` (≤ `rows`; a source may
    /// feed several rows, and rows no one reads are dropped), over the `count` valid positions. Rows
    /// that keep their own contents are not copied.
    public func reorder(_ sources: UnsafeBufferPointer<Int32>) {
        precondition(sources.count <= rows && sources.allSatisfy { $0 >= 0 && Int($0) < rows }, "bad beam reorder \(Array(sources))")
        guard let scratch, sources.indices.contains(where: { Int(sources[$0]) != $0 }) else { return }
        let n = count * C
        for block in 0..<(2 * L) {
            let base = storage.pointer + block * rows * capacity * C
            // Read every moved row before writing any: a row may be both a source and a destination.
            for j in sources.indices where Int(sources[j]) != j {
                (scratch.pointer + j * capacity * C).update(from: base + Int(sources[j]) * capacity * C, count: n)
            }
            for j in sources.indices where Int(sources[j]) != j {
                (base + j * capacity * C).update(from: scratch.pointer + j * capacity * C, count: n)
            }
        }
    }

    /// Bytes held.
    public var bytes: Int { (storage.count + (scratch?.count ?? 0)) * MemoryLayout<Float>.stride }
}
