import Foundation
import Support

// T5's relative position bias: a learned (buckets, NH) table indexed by the bucket of each key's
// position relative to each query, added to the attention scores.
//
// Shapes:
//   NH heads, Tq queries, Tk keys, nb buckets
//   table, dtable (nb,NH)    bias, dbias (NH,Tq,Tk)
//
// Query i sits at position queryStart + i (a decoder step against its cache has queryStart > 0), key j
// at position j; relative = j − (queryStart + i). bucket(relative) is Hugging Face's
// `T5Attention._relative_position_bucket`: bidirectional (encoder) splits the buckets between keys
// before and after the query; causal (decoder) looks only back. Half of a direction's buckets hold
// exact distances, the rest grow logarithmically up to maxDistance, beyond which all share the last.
// The logarithm is computed in Float32 as PyTorch does, so the buckets agree at every boundary.
//
// Forward:  bias[h,i,j] = table[bucket(j − queryStart − i), h]
// Backward: dtable[bucket(j − queryStart − i), h] += dbias[h,i,j]

/// T5's bucketed relative position bias, forward (fill the per-head score bias) and backward (scatter
/// its gradient into the table).
public enum RelativePositionBias {
    /// The bucket of a key at `relative` positions from its query (HF's `_relative_position_bucket`).
    public static func bucket(_ relative: Int, bidirectional: Bool, numBuckets: Int, maxDistance: Int) -> Int {
        var buckets = numBuckets, result = 0, distance: Int
        if bidirectional {
            buckets /= 2
            if relative > 0 { result += buckets }
            distance = abs(relative)
        } else {
            distance = max(0, -relative)
        }
        let maxExact = buckets / 2
        if distance < maxExact { return result + distance }
        let scaled = Foundation.log(Float(distance) / Float(maxExact)) / Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
            * Float(buckets - maxExact)
        return result + min(maxExact + Int(scaled), buckets - 1)
    }

    /// bias (NH,Tq,Tk) from the table; queries start at position `queryStart`.
    public static func forward(bias: UnsafeMutablePointer<Float> /* (NH,Tq,Tk) */,
                               table: UnsafePointer<Float> /* (nb,NH) */,
                               NH: Int, Tq: Int, Tk: Int, queryStart: Int = 0,
                               bidirectional: Bool, numBuckets: Int, maxDistance: Int) {
        precondition(NH > 0 && Tq >= 0 && Tk >= 0 && queryStart >= 0, "bad position bias shape")
        forEach(NH: NH, Tq: Tq, Tk: Tk, queryStart: queryStart, bidirectional, numBuckets, maxDistance) { index, entry in
            bias[index] = table[entry]
        }
    }

    /// dtable += the bias gradient dbias (NH,Tq,Tk) gathered by bucket; the order of additions is fixed.
    public static func backward(dtable: UnsafeMutablePointer<Float> /* (nb,NH) += */,
                                dbias: UnsafePointer<Float> /* (NH,Tq,Tk) */,
                                NH: Int, Tq: Int, Tk: Int, queryStart: Int = 0,
                                bidirectional: Bool, numBuckets: Int, maxDistance: Int) {
        precondition(NH > 0 && Tq >= 0 && Tk >= 0 && queryStart >= 0, "bad position bias shape")
        forEach(NH: NH, Tq: Tq, Tk: Tk, queryStart: queryStart, bidirectional, numBuckets, maxDistance) { index, entry in
            dtable[entry] += dbias[index]
        }
    }

    /// Calls `body(index, entry)` for every element of the (NH, Tq, Tk) block in row-major order, with
    /// the table entry bucket·NH + h it reads; the buckets of the block's relative positions are
    /// computed once into a stack buffer.
    private static func forEach(NH: Int, Tq: Int, Tk: Int, queryStart: Int, _ bidirectional: Bool, _ numBuckets: Int, _ maxDistance: Int,
                                _ body: (Int, Int) -> Void) {
        let lowest = -(queryStart + Tq - 1), count = max(1, Tk + Tq - 1)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { buckets in
            for k in 0..<count {
                buckets[k] = bucket(lowest + k, bidirectional: bidirectional, numBuckets: numBuckets, maxDistance: maxDistance)
            }
            var index = 0
            for h in 0..<NH {
                for i in 0..<Tq {
                    for j in 0..<Tk {
                        body(index, buckets[j - queryStart - i - lowest] * NH + h)
                        index += 1
                    }
                }
            }
        }
    }
}
