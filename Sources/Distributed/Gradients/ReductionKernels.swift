/// Element-wise reduction loops over raw memory, shared by every communicator so that their
/// arithmetic is identical (in-process results match MPI's bit for bit where MPI is deterministic).
///
/// Dispatch happens once per call on `CommDataType`; the loops themselves are specialized for the
/// concrete Swift type, so they vectorize.
enum ReductionKernels {
    /// `accumulator[i] = op(accumulator[i], next[i])` for `count` elements of `type`.
    /// `.average` accumulates a sum (divide afterwards with `divide`).
    static func combine(into accumulator: UnsafeMutableRawPointer, from next: UnsafeRawPointer,
                        count: Int, type: CommDataType, op: ReduceOp) {
        guard count > 0 else { return }
        switch type {
        case .float32: combineFloat(accumulator, next, count, op, Float.self)
        case .float64: combineFloat(accumulator, next, count, op, Double.self)
        case .int32: combineInteger(accumulator, next, count, op, Int32.self)
        case .int64: combineInteger(accumulator, next, count, op, Int64.self)
        case .uint8: combineInteger(accumulator, next, count, op, UInt8.self)
        case .uint16: combineInteger(accumulator, next, count, op, UInt16.self)
        case .uint64: combineInteger(accumulator, next, count, op, UInt64.self)
        case .bfloat16: BFloat16.combine(into: accumulator, from: next, count: count, op: op)
        }
    }

    /// `values[i] = values[i] / T(divisor)` (a true IEEE division) for floating-point `type`.
    static func divide(_ values: UnsafeMutableRawPointer, count: Int, type: CommDataType, by divisor: Int) {
        guard count > 0, divisor != 1 else { return }
        switch type {
        case .float32: divideFloat(values, count, divisor, Float.self)
        case .float64: divideFloat(values, count, divisor, Double.self)
        case .bfloat16: BFloat16.divide(values, count: count, by: divisor)
        default: preconditionFailure("average is defined for floating-point types only, not \(type)")
        }
    }

    /// `destination[i] = a[i] + b[i]` for `count` floats, in 8-wide SIMD. `destination` may be `a` or
    /// `b` (each chunk is loaded before it is stored): a plain loop with that aliasing fails the
    /// vectorizer's overlap check at run time and falls back to scalar code, 4× slower.
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let x = UnsafeRawPointer(a), y = UnsafeRawPointer(b), d = UnsafeMutableRawPointer(destination)
        let width = 8
        var i = 0
        while i + width <= count {
            let offset = i * MemoryLayout<Float>.stride
            let sum = x.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                + y.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            d.storeBytes(of: sum, toByteOffset: offset, as: SIMD8<Float>.self)
            i += width
        }
        while i < count {
            destination[i] = a[i] + b[i]
            i += 1
        }
    }

    private static func combineFloat<T: BinaryFloatingPoint>(
        _ acc: UnsafeMutableRawPointer, _ next: UnsafeRawPointer, _ count: Int, _ op: ReduceOp, _: T.Type
    ) {
        let a = acc.assumingMemoryBound(to: T.self)
        let b = next.assumingMemoryBound(to: T.self)
        switch op {
        case .sum, .average: for i in 0..<count { a[i] = a[i] + b[i] }
        case .max: for i in 0..<count { let x = b[i]; if x > a[i] { a[i] = x } }
        case .min: for i in 0..<count { let x = b[i]; if x < a[i] { a[i] = x } }
        }
    }

    private static func combineInteger<T: FixedWidthInteger>(
        _ acc: UnsafeMutableRawPointer, _ next: UnsafeRawPointer, _ count: Int, _ op: ReduceOp, _: T.Type
    ) {
        let a = acc.assumingMemoryBound(to: T.self)
        let b = next.assumingMemoryBound(to: T.self)
        switch op {
        case .sum, .average: for i in 0..<count { a[i] = a[i] &+ b[i] }
        case .max: for i in 0..<count { let x = b[i]; if x > a[i] { a[i] = x } }
        case .min: for i in 0..<count { let x = b[i]; if x < a[i] { a[i] = x } }
        }
    }

    private static func divideFloat<T: BinaryFloatingPoint>(
        _ values: UnsafeMutableRawPointer, _ count: Int, _ divisor: Int, _: T.Type
    ) {
        let v = values.assumingMemoryBound(to: T.self)
        let d = T(divisor)
        for i in 0..<count { v[i] = v[i] / d }
    }
}
