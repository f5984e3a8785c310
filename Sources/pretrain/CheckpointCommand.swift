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

/// Opens a checkpoint for a command; errors become one CLI line.
func openCheckpoint(_ path: String) throws -> CheckpointReader {
    do { return try CheckpointReader(path: path) } catch let e as CheckpointError { throw CLIError(e.message, exitCode: 1) }
}

/// The run config stored in a checkpoint's manifest.
func checkpointConfig(_ reader: CheckpointReader) throws -> RunConfig {
    var config = RunConfig()
    do { try ConfigLoader.apply(yaml: reader.manifest.config, file: reader.directory + "/manifest.json", to: &config) } catch let e as ConfigError {
        throw CLIError(e.message, exitCode: 1)
    }
    return config
}
