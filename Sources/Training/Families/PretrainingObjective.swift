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
