import Distributed
import XCTest

/// Sparse rows from every rank summed into a dense table: against a rank-order reference, bit for bit.
final class SparseRowReducerTests: XCTestCase {
    /// Rank r's rows: indices with repeats (and rows other ranks also touch), fractional values.
    func inputs(rank: Int, count: Int, width: Int, tableRows: Int) -> ([Int32], [Float]) {
        let indices = (0..<count).map { Int32(($0 * 7 + rank * 3) % (tableRows - 2)) }
        let rows = (0..<(count * width)).map { Float(($0 * 13 + rank * 5) % 29) / 7 - 1.9 + Float(rank) * 1e-3 }
        return (indices, rows)
    }

    func testEveryRankAddsEveryRanksRowsInRankOrder() throws {
        let ranks = 3, count = 10, width = 5, tableRows = 9
        let start = (0..<(tableRows * width)).map { Float($0) / 3 }
        // The reference: the starting table plus rank 0's rows, then rank 1's, then rank 2's, one by one.
        var expected = start
        for r in 0..<ranks {
            let (indices, rows) = inputs(rank: r, count: count, width: width, tableRows: tableRows)
            for n in 0..<count {
                for c in 0..<width { expected[Int(indices[n]) * width + c] += rows[n * width + c] }
            }
        }
        let tables = try InProcessGroup.run(size: ranks) { comm -> [Float] in
            let counted = InstrumentedCommunicator(wrapping: comm)
            let reducer = SparseRowReducer(comm: counted, maxRows: count, width: width)
            let (indices, rows) = self.inputs(rank: comm.rank, count: count, width: width, tableRows: tableRows)
            var table = start
            try indices.withUnsafeBufferPointer { i in
                try rows.withUnsafeBufferPointer { r in
                    try table.withUnsafeMutableBufferPointer { t in
                        try reducer.reduce(rowIndices: i.baseAddress!, rows: r.baseAddress!, count: count, into: t.baseAddress!, tableRows: tableRows)
                    }
                }
            }
            XCTAssertEqual(counted.stats.calls(.allgatherv), 2, "indices, then rows")
            XCTAssertEqual(counted.stats.bytes(.allgatherv), count * 4 + count * width * 4, "only the rows travel, not the table")
            XCTAssertEqual(counted.stats.totalCalls, 2)
            return table
        }
        for (r, table) in tables.enumerated() {
            XCTAssertEqual(table, expected, "rank \(r): every rank's rows added in rank order, bit for bit")
        }
        XCTAssertNotEqual(expected, start)
        XCTAssertEqual(Array(expected[(7 * width)...]), Array(start[(7 * width)...]), "rows nobody touched are unchanged")
    }

    func testNoRowsChangeNothing() throws {
        let tables = try InProcessGroup.run(size: 2) { comm -> [Float] in
            let reducer = SparseRowReducer(comm: comm, maxRows: 4, width: 3)
            var table: [Float] = [1, 2, 3, 4, 5, 6]
            let indices: [Int32] = [], rows: [Float] = []
            try indices.withUnsafeBufferPointer { i in
                try rows.withUnsafeBufferPointer { r in
                    try table.withUnsafeMutableBufferPointer { t in
                        try reducer.reduce(rowIndices: i.baseAddress ?? UnsafePointer(bitPattern: 4)!, rows: r.baseAddress ?? UnsafePointer(bitPattern: 4)!,
                                           count: 0, into: t.baseAddress!, tableRows: 2)
                    }
                }
            }
            return table
        }
        XCTAssertEqual(tables, [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]])
    }
}
