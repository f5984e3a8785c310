import Kernels
import XCTest
import Support

/// A seeded SplitMix64 generator so every test draws the same numbers on every run.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func doubles(_ n: Int, _ range: ClosedRange<Double> = -1...1) -> [Double] {
        (0..<n).map { _ in Double.random(in: range, using: &self) }
    }
    /// Doubles that are exactly representable as Float, so Float kernels and Double references see the
    /// very same inputs.
    mutating func floatExact(_ n: Int, _ range: ClosedRange<Double> = -1...1) -> [Double] {
        doubles(n, range).map { Double(Float($0)) }
    }
    mutating func tokens(_ n: Int, below v: Int) -> [Int32] {
        (0..<n).map { _ in Int32(Int.random(in: 0..<v, using: &self)) }
    }
}

/// Memory handed out by `Buf`, freed only when the test method ends (`KernelTestCase.tearDown`):
/// the optimiser may end a Swift object's lifetime right after its last use, so a buffer freed in the
/// object's deinit could vanish while a kernel still reads the pointer taken from it.
enum BufPool {
    nonisolated(unsafe) static var frees: [() -> Void] = []
    static func drain() {
        for f in frees { f() }
        frees.removeAll()
    }
}

/// Base class of the kernel tests: frees the `Buf` memory after each test method.
class KernelTestCase: XCTestCase {
    override func tearDown() {
        BufPool.drain()
        Parallel.setThreads(1)
        super.tearDown()
    }
}

/// A heap buffer with a stable pointer for handing to kernels, valid until the test method ends.
final class Buf<T> {
    let p: UnsafeMutablePointer<T>
    let count: Int
    init(_ values: [T]) {
        count = values.count
        p = .allocate(capacity: max(1, values.count))
        p.initialize(from: values, count: values.count)
        BufPool.frees.append { [p] in p.deallocate() }
    }
    init(repeating v: T, count: Int) {
        self.count = count
        p = .allocate(capacity: max(1, count))
        p.initialize(repeating: v, count: count)
        BufPool.frees.append { [p] in p.deallocate() }
    }
    var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }
    var c: UnsafePointer<T> { UnsafePointer(p) }
}

extension Buf where T == Float {
    convenience init(doubles: [Double]) { self.init(doubles.map { Float($0) }) }
    var doubles: [Double] { array.map { Double($0) } }
}

/// Runs `body` once with 1 thread and once with 2 (our loops and OpenBLAS alike), restoring 1 after.
func withThreadCounts(_ counts: [Int] = [1, 2], _ body: (Int) throws -> Void) rethrows {
    defer { Parallel.setThreads(1) }
    for n in counts {
        Parallel.setThreads(n)
        try body(n)
    }
}

/// Central finite differences of a scalar function of a vector: ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h.
func numericalGradient(_ x: [Double], h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    var g = [Double](repeating: 0, count: x.count)
    for i in x.indices {
        let saved = x[i]
        x[i] = saved + h
        let fp = f(x)
        x[i] = saved - h
        let fm = f(x)
        x[i] = saved
        g[i] = (fp - fm) / (2 * h)
    }
    return g
}

/// Σ a_i·b_i.
func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// max_i |x_i|.
func maxAbs(_ x: [Double]) -> Double { x.reduce(0) { max($0, abs($1)) } }

/// Asserts an analytic gradient matches a numerical one: max|num − ana| ≤ rtol·max(max|ana|, 1e-12).
func assertGradientsMatch(_ analytic: [Double], _ numeric: [Double], rtol: Double = 1e-6, _ what: String,
                          file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(analytic.count, numeric.count, what, file: file, line: line)
    let scale = max(maxAbs(analytic), 1e-12)
    let err = maxAbs(zip(analytic, numeric).map { $0 - $1 })
    XCTAssertLessThanOrEqual(err / scale, rtol, "\(what): gradient mismatch, max err \(err) vs scale \(scale)",
                             file: file, line: line)
}

/// Asserts Float results match Double expectations elementwise: |a − e| ≤ rtol·|e| + atol·max|e|.
func assertClose(_ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
    let scale = maxAbs(expected)
    var worst = 0.0, worstIndex = -1
    for i in expected.indices {
        let e = expected[i], a = Double(actual[i])
        let excess = abs(a - e) - (rtol * abs(e) + atol * scale)
        if !(excess <= 0) && (worstIndex < 0 || excess > worst || excess.isNaN) { worst = excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(what): element \(worstIndex) is \(actual[worstIndex]), expected \(expected[worstIndex]) "
                + "(rtol \(rtol), atol \(atol)·\(scale))", file: file, line: line)
    }
}
