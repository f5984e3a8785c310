import DataPipeline
import Model

/// What one micro-step of pretraining computes for a family: the model, and its loss on the loader's
/// current micro-batch.
public protocol PretrainingObjective: AnyObject {
    /// The model being trained.
    var model: any LanguageModel { get }
    /// Dropout is applied while training.
    var training: Bool { get set }
    /// Forward on the loader's current micro-batch (after its `next()`); returns the loss.
    /// `dropoutSeed` seeds the family's dropout masks for this (step, micro-batch, rank).
    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float
}

extension PretrainingObjective {
    /// The model's own switch.
    public var training: Bool {
        get { model.training }
        set { model.training = newValue }
    }
}

extension DistributedDataLoader {
    /// The global stream index of this rank's first row of the current micro-batch (after `next()`,
    /// which has already advanced past the round): what counter-based corruption is keyed by.
    var firstRowOfRank: UInt64 { UInt64(position.sequencesRead - worldSize * microBatch + rank * microBatch) }
}
