/// Who writes what: the pure functions that cut the flat buffers into shards.
///
/// Every rank holds all parameters, so rank r of N writes the r-th of N even, contiguous ranges of
/// them (writes run in parallel, no rank writes more than its share). AdamW moments are written by
/// the rank that holds them: its ZeRO-1 pieces, or, when every rank holds all moments, the same even
/// range as the parameters.
public enum CheckpointPlan {
    /// Part `index` of `count` elements split into `parts` contiguous ranges whose sizes differ by at
    /// most one (the first `count % parts` ranges are one longer).
    public static func evenRange(count: Int, parts: Int, index: Int) -> Range<Int> {
        precondition(parts > 0 && index >= 0 && index < parts, "bad part \(index) of \(parts)")
        let base = count / parts, extra = count % parts
        let start = index * base + min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }

    /// The segments rank `rank` of `worldSize` writes: its even range of the parameters, then (when
    /// `moments` is given) those moment ranges of m, then of v.
    public static func segments(rank: Int, worldSize: Int, count: Int, moments: [Range<Int>]?) -> [CheckpointManifest.Segment] {
        let p = evenRange(count: count, parts: worldSize, index: rank)
        var segments = [CheckpointManifest.Segment(buffer: .params, start: p.lowerBound, count: p.count)]
        if let moments {
            let pieces = moments.filter { !$0.isEmpty }
            for buffer in [CheckpointManifest.Buffer.m, .v] {
                segments += pieces.map { .init(buffer: buffer, start: $0.lowerBound, count: $0.count) }
            }
        }
        return segments
    }

    /// `rank-00003-of-00008.zst` (`.f32` for uncompressed shards).
    public static func shardFileName(rank: Int, worldSize: Int, method: ChunkCodec.Method) -> String {
        let r = String(rank), n = String(worldSize)
        let pad = { (s: String) in String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "rank-\(pad(r))-of-\(pad(n))" + (method == .zstd ? ".zst" : ".f32")
    }
}
