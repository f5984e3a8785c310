/// Lays named tensors out one after another in a flat buffer: the one builder every family's layout
/// (`GPTLayout`, `BERTLayout`) uses in its `init(config:)`.
///
/// `add` places a tensor at the running offset and returns its offset; `addBlocks` places L blocks of
/// the same tensors and returns where they went (`BlockPlacement`); `finish` gives the tensors, the
/// element count and the name index. The order of the calls is the storage order.
struct ParameterTableBuilder {
    private(set) var tensors: [ParameterTensor] = []
    /// The next free element, the total so far.
    private(set) var offset = 0

    /// Places tensor `name` of `shape` at the running offset; returns that offset.
    @discardableResult
    mutating func add(_ name: String, _ shape: [Int]) -> Int {
        let start = offset
        tensors.append(ParameterTensor(name: name, shape: shape, offset: start))
        offset += shape.reduce(1, *)
        return start
    }

    /// Places `layers` blocks one after another, each the tensors of `shapes` in order, tensor `i` of
    /// block `l` named `name(l, i)`.
    mutating func addBlocks(layers: Int, shapes: [[Int]], name: (_ layer: Int, _ tensor: Int) -> String) -> BlockPlacement {
        var inBlock: [Int] = [], running = 0
        for shape in shapes { inBlock.append(running); running += shape.reduce(1, *) }
        var starts: [Int] = []
        for l in 0..<layers {
            starts.append(offset)
            for (i, shape) in shapes.enumerated() {
                add(name(l, i), shape)
                tensors[tensors.count - 1].inBlock = true
            }
        }
        return BlockPlacement(starts: starts, offsets: inBlock, count: running)
    }

    /// The finished table: every tensor in storage order, the element count and the index by name.
    func finish() -> (tensors: [ParameterTensor], count: Int, index: [String: Int]) {
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        return (tensors, offset, index)
    }
}

/// Where a layout's L blocks sit: each block's first element and each tensor's offset within a block.
struct BlockPlacement: Sendable, Equatable {
    /// Offset of each block's first tensor.
    let starts: [Int]
    /// Each tensor's offset within a block, in storage order.
    let offsets: [Int]
    /// Elements in one block.
    let count: Int

    /// The flat range holding all of block `layer`.
    func range(_ layer: Int) -> Range<Int> { starts[layer]..<(starts[layer] + count) }
}
