import DataPipeline
import Model

/// What rebuilds a loader's rows into a model's batch with counter-based draws (MLM masks, span
/// corruption), keyed by each row's index in the global data stream.
protocol RowCorruption: AnyObject {
    /// Rebuilds the batch from `content` (B rows of `contentLength` tokens), the first row being
    /// sequence `firstSequence` of the global stream.
    func build(content: UnsafePointer<Int32>, contentLength: Int, firstSequence: UInt64)
}

extension MLMMasker: RowCorruption {
    func build(content: UnsafePointer<Int32>, contentLength: Int, firstSequence: UInt64) {
        build(content: content, contentLength: contentLength, lengths: nil, firstSequence: firstSequence)
    }
}

extension SpanCorruption: RowCorruption {}

/// Pretraining on corrupted rows: each row of the loader is rebuilt by `corruption` with draws keyed by
/// its index in the global data stream, so N ranks equal 1 rank and a resumed run repeats an
/// uninterrupted one; `run` is the family's forward on the built batch (setting its dropout seed).
final class CorruptedRowsObjective<Network: LanguageModel, Corruption: RowCorruption>: PretrainingObjective {
    let network: Network
    let corruption: Corruption
    private let run: (Network, Corruption, _ dropoutSeed: UInt64) throws -> Float
    var model: any LanguageModel { network }

    init(_ network: Network, corruption: Corruption, run: @escaping (Network, Corruption, _ dropoutSeed: UInt64) throws -> Float) {
        self.network = network
        self.corruption = corruption
        self.run = run
    }

    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float {
        corruption.build(content: loader.inputs.baseAddress!, contentLength: loader.sequenceLength, firstSequence: loader.firstRowOfRank)
        return try run(network, corruption, dropoutSeed)
    }
}
