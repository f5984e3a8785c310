import Support

// Residual connection, element-wise.
//
// Shapes: a, b, out, da, db, dout (count) — typically (B,T,C).

/// Residual addition out = a + b and its gradient.
public enum Residual {
    /// out = a + b. `out` may alias `a` or `b`. Parallel, 16 lanes at a time.
    public static func forward(out: UnsafeMutablePointer<Float> /* (count) */,
                               a: UnsafePointer<Float> /* (count) */,
                               b: UnsafePointer<Float> /* (count) */,
                               count: Int) {
        precondition(count >= 0, "negative count")
        Parallel.chunks((count + 15) / 16, minChunk: 4096) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            var i = lo
            while i + 16 <= hi { out.store16(i, a.load16(i) + b.load16(i)); i += 16 }
            while i < hi { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    /// da += dout and db += dout (accumulates). Either may be nil. `da` and `db` must not alias.
    public static func backward(da: UnsafeMutablePointer<Float>? /* (count) += */,
                                db: UnsafeMutablePointer<Float>? /* (count) += */,
                                dout: UnsafePointer<Float> /* (count) */,
                                count: Int) {
        precondition(count >= 0, "negative count")
        Parallel.chunks((count + 15) / 16, minChunk: 4096) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            switch (da, db) {
            case let (da?, db?):
                var i = lo
                while i + 16 <= hi {
                    let g = dout.load16(i)
                    da.store16(i, da.load16(i) + g)
                    db.store16(i, db.load16(i) + g)
                    i += 16
                }
                while i < hi { da[i] += dout[i]; db[i] += dout[i]; i += 1 }
            case let (da?, nil): VectorMath.accumulate(da + lo, dout + lo, count: hi - lo)
            case let (nil, db?): VectorMath.accumulate(db + lo, dout + lo, count: hi - lo)
            case (nil, nil): break
            }
        }
    }
}
