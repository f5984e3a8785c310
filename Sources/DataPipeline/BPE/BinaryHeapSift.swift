/// The two sift loops of a binary heap kept in arrays, shared by heaps whose elements live in parallel
/// arrays (so no single element type): `before(a, b)` says the element at index a belongs above the one
/// at b, `swap(a, b)` exchanges them.
enum BinaryHeapSift {
    /// Moves the element at `start` up until its parent comes before it.
    @inline(__always)
    static func up(from start: Int, before: (Int, Int) -> Bool, swap: (Int, Int) -> Void) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if !before(i, parent) { break }
            swap(i, parent)
            i = parent
        }
    }

    /// Moves the element at the root down (among `count` elements) until it comes before its children.
    @inline(__always)
    static func down(count n: Int, before: (Int, Int) -> Bool, swap: (Int, Int) -> Void) {
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var c = l
            if l + 1 < n, before(l + 1, l) { c = l + 1 }
            if !before(c, i) { break }
            swap(i, c)
            i = c
        }
    }
}
