/// One collective as a rank issued it: its sequence number, when, and what it was.
///
/// Ranks issue the same collectives in the same order, so sequence number k names the same collective
/// on every rank of a correct program; comparing what each rank issued as #k is how a stall or a
/// desynchronised rank is diagnosed (`StallReport`). Asynchronous and blocking allreduces are the same
/// collective to the transport and are recorded alike.
public struct CollectiveRecord: Sendable, Equatable {
    /// 1 for the rank's first collective, then consecutive.
    public var sequence: UInt64
    /// Wall-clock time of issue (seconds since 1970), comparable across hosts with synchronised clocks.
    public var wallTime: Double
    /// The collective (`allreduceAsync` is recorded as `allreduce`).
    public var operation: CommOperation
    /// The element type, nil for a barrier.
    public var dataType: CommDataType?
    /// Elements this rank handed over (the whole buffer; the send buffer for gathers and scatters).
    public var count: Int

    /// A record of one issued collective.
    public init(sequence: UInt64, wallTime: Double, operation: CommOperation, dataType: CommDataType?, count: Int) {
        self.sequence = sequence
        self.wallTime = wallTime
        self.operation = operation == .allreduceAsync ? .allreduce : operation
        self.dataType = dataType
        self.count = count
    }

    /// Whether two ranks issuing these would be calling the same collective. Counts are compared for
    /// allreduce and broadcast, whose buffers must have equal length everywhere; gathers and scatters
    /// legitimately send different counts per rank.
    public func matches(_ other: CollectiveRecord) -> Bool {
        guard operation == other.operation, dataType == other.dataType else { return false }
        switch operation {
        case .allreduce, .allreduceAsync, .broadcast: return count == other.count
        case .barrier, .allgatherv, .reduceScatter: return true
        }
    }

    /// E.g. "#57 allreduce(float32 × 1)".
    public var summary: String {
        let name = operation.rawValue
        guard let dataType else { return "#\(sequence) \(name)" }
        return "#\(sequence) \(name)(\(dataType.rawValue) × \(count))"
    }

    // MARK: - Fixed-size binary form (the heartbeat file's ring entries)

    /// Bytes of one encoded record.
    static let encodedSize = 32

    /// Writes the record as four little-endian words: sequence, wall time, packed kind and count, and a
    /// check word (so a reader can reject a torn or stale slot).
    func encode(into raw: UnsafeMutableRawPointer) {
        let op = UInt64(CommOperation.allCases.firstIndex(of: operation) ?? 0)
        let type = UInt64(dataType.flatMap { CommDataType.allCases.firstIndex(of: $0) }.map { $0 + 1 } ?? 0)
        let packed = op | type << 8 | UInt64(truncatingIfNeeded: max(0, count)) << 16
        raw.storeBytes(of: sequence.littleEndian, toByteOffset: 0, as: UInt64.self)
        raw.storeBytes(of: wallTime.bitPattern.littleEndian, toByteOffset: 8, as: UInt64.self)
        raw.storeBytes(of: packed.littleEndian, toByteOffset: 16, as: UInt64.self)
        raw.storeBytes(of: Self.check(sequence, wallTime.bitPattern, packed).littleEndian, toByteOffset: 24, as: UInt64.self)
    }

    /// Reads a record written by `encode`; nil for an empty, torn or foreign slot.
    static func decode(_ raw: UnsafeRawPointer) -> CollectiveRecord? {
        let sequence = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let wall = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let packed = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let check = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        guard sequence != 0, check == Self.check(sequence, wall, packed) else { return nil }
        let opIndex = Int(packed & 0xFF), typeIndex = Int(packed >> 8 & 0xFF)
        guard opIndex < CommOperation.allCases.count, typeIndex <= CommDataType.allCases.count else { return nil }
        let type = typeIndex == 0 ? nil : CommDataType.allCases[typeIndex - 1]
        return CollectiveRecord(sequence: sequence, wallTime: Double(bitPattern: wall),
                                operation: CommOperation.allCases[opIndex], dataType: type, count: Int(packed >> 16))
    }

    private static func check(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9) ^ 0x5052_4554_5241_494E
    }
}
