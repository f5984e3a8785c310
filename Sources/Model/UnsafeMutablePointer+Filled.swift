extension UnsafeMutablePointer {
    /// Allocates `count` elements (at least one) all set to `value`; the owner deallocates.
    static func allocate(filling value: Pointee, count: Int) -> UnsafeMutablePointer<Pointee> {
        let p = allocate(capacity: Swift.max(1, count))
        p.initialize(repeating: value, count: Swift.max(1, count))
        return p
    }
}
