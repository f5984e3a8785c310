import ArgumentParser
import Checkpoint
import Config
import Foundation

/// `pretrain checkpoint`: look inside, check, export and import checkpoints.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect, verify, export (Hugging Face safetensors) and import checkpoints.",
        discussion: """
        DIR is a step-NNNNNNNN directory, or a checkpoint root (checkpoint.dir) for its newest complete
        checkpoint. The format is described in README.md, "Checkpoints".
        """.helpParagraphs,
        subcommands: [CheckpointInspectCommand.self, CheckpointVerifyCommand.self, CheckpointExportCommand.self, CheckpointImportCommand.self])
}

/// The run config stored in a checkpoint's manifest (a config error there is a damaged checkpoint: status 1).
func checkpointConfig(_ reader: CheckpointReader) throws -> RunConfig {
    var config = RunConfig()
    do { try ConfigLoader.apply(yaml: reader.manifest.config, file: reader.directory + "/manifest.json", to: &config) } catch let e as ConfigError {
        throw CLIError(e.message, exitCode: 1)
    }
    return config
}
