import ArgumentParser
import Checkpoint

/// The checkpoint a `pretrain checkpoint` subcommand reads: a step directory or a root.
struct CheckpointArgument: ParsableArguments {
    @Argument(help: "A step-NNNNNNNN directory or a checkpoint root (its newest complete step).") var directory: String

    /// Opens the checkpoint, or throws the reader's one-line error naming the directory.
    func open() throws -> CheckpointReader { try CheckpointReader(path: directory) }
}
