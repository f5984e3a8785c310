/// One flat Float buffer split into 64-byte-aligned regions, one per case of `Region`, allocated once:
/// the storage of a family's activations outside the blocks (`GPTActivations`, `BERTActivations`).
final class RegionBuffer<Region: CaseIterable & RawRepresentable> where Region.RawValue == Int {
    let storage: FlatBuffer
    private let offsets: [Int]

    /// Allocates `size(region)` Floats for every region, in case order, each rounded up as
    /// `BlockActivations.align` rounds.
    init(size: (Region) -> Int) throws {
        var offsets: [Int] = [], running = 0
        for region in Region.allCases {
            offsets.append(running)
            running += BlockActivations.align(size(region))
        }
        self.offsets = offsets
        storage = try FlatBuffer(count: running)
    }

    /// Start of a region.
    @inline(__always)
    func pointer(_ region: Region) -> UnsafeMutablePointer<Float> { storage.pointer + offsets[region.rawValue] }
}
