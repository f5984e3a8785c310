/// Sums every rank's sparse rows into a dense table, identically on every rank: an allgather of
/// (row index, row) pairs, then a scatter-add in rank order.
///
/// For gradients that each rank touches in only a few rows of a large table (a token-embedding
/// lookup: B·T rows of a V-row table), this moves `ranks × rows × width` floats instead of the whole
/// table, and it can run after the table's dense part has already been reduced. Every rank adds the
/// same rows in the same order (rank 0's first, each rank's in its own order), so the tables stay
/// bit-identical across ranks. Knows only buffers. The gather buffers are allocated once, for up to
/// `maxRows` rows per rank; nothing is allocated per call.
public final class SparseRowReducer {
    /// The most rows a rank may pass per call.
    public let maxRows: Int
    /// Floats per row.
    public let width: Int

    private let comm: any Communicator
    private let indices: UnsafeMutableBufferPointer<Int32>
    private let rows: UnsafeMutableBufferPointer<Float>
    private var counts: [Int]
    private var rowCounts: [Int]

    /// A reducer for up to `maxRows` rows of `width` floats per rank.
    public init(comm: any Communicator, maxRows: Int, width: Int) {
        precondition(maxRows >= 0 && width > 0, "bad sparse row shape")
        self.comm = comm
        self.maxRows = maxRows
        self.width = width
        indices = .allocate(capacity: max(1, maxRows * comm.size))
        rows = .allocate(capacity: max(1, maxRows * comm.size * width))
        counts = [Int](repeating: 0, count: comm.size)
        rowCounts = [Int](repeating: 0, count: comm.size)
    }

    deinit {
        indices.deallocate()
        rows.deallocate()
    }

    /// Adds every rank's `count` rows into `table` (`tableRows` rows of `width`): row n of rank r goes
    /// into table row `rowIndices[n]` of every rank. Every rank must pass the same `count`.
    public func reduce(rowIndices: UnsafePointer<Int32> /* (count) */, rows source: UnsafePointer<Float> /* (count, width) */,
                       count: Int, into table: UnsafeMutablePointer<Float> /* (tableRows, width) += */, tableRows: Int) throws {
        precondition(count >= 0 && count <= maxRows, "\(count) rows, more than the \(maxRows) this reducer was built for")
        for r in counts.indices {
            counts[r] = count
            rowCounts[r] = count * width
        }
        let total = count * comm.size
        try comm.allgatherv(UnsafeBufferPointer(start: rowIndices, count: count),
                            into: UnsafeMutableBufferPointer(start: indices.baseAddress, count: total), counts: counts)
        try comm.allgatherv(UnsafeBufferPointer(start: source, count: count * width),
                            into: UnsafeMutableBufferPointer(start: rows.baseAddress, count: total * width), counts: rowCounts)
        let gathered = rows.baseAddress!
        for n in 0..<total {
            let row = Int(indices[n])
            precondition(row >= 0 && row < tableRows, "row index \(row) outside the table's \(tableRows) rows")
            let dst = table + row * width, src = gathered + n * width
            for c in 0..<width { dst[c] += src[c] }
        }
    }
}
