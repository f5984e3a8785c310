import ArgumentParser
import BuildInfo
import Foundation
import Support

/// The `pretrain` command: data-parallel transformer pretraining on CPUs across MPI processes.
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Data-parallel transformer pretraining in Swift, on CPUs, across MPI processes.",
        discussion: """
        Start with `make pretrain` (installs, builds, trains the default model) and `make test`.
        Every subcommand has its own --help, e.g. `pretrain bench step --help`.
        """.helpParagraphs, version: "pretrain " + BuildInfo.summary,
        subcommands: [TrainCommand.self, LaunchCommand.self, ConfigCommand.self, EnvCommand.self, DataCommand.self, CheckpointCommand.self,
                      FinetuneCommand.self, PredictCommand.self, GenerateCommand.self, EvalCommand.self, PlotCommand.self, BenchCommand.self, SelfTestCommand.self])

    /// Parses the command line and runs it; errors print as one line and set the exit status.
    static func runMain() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)  // already reported (or deliberately silent)
        } catch let error as any UserFacingError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {  // --help, --version
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            let hint = message.contains("--help") ? "" : " (run `pretrain --help` to see the commands and flags)"
            let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
            FileHandle.standardError.write(Data("error: \(text)\(hint)\n".utf8))
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}
