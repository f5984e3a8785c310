public extension String {
    /// The string right-aligned in `width` characters (unchanged when it is already that long), for
    /// the benchmark tables' number columns.
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
