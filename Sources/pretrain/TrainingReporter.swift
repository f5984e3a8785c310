import Config
import Foundation
import Training

/// Writes training events to the console (what `TrainingConsole` renders, rank 0) and to this rank's
/// metrics files (`<run_dir>/metrics/rank-NNNNN.jsonl` and its CSV twin, see `MetricsFileWriter`).
final class TrainingReporter {
    let config: RunConfig
    let rank: Int
    private let console: TrainingConsole
    private var metrics: MetricsFileWriter?
    private let start = DispatchTime.now().uptimeNanoseconds
    private var barShown = false

    init(config: RunConfig, rank: Int, interval: Int, quiet: Bool, interactive: Bool = TrainingConsole.outputIsTerminal()) {
        self.config = config
        self.rank = rank
        console = TrainingConsole(totalSteps: config.training.steps, rank: rank, interval: interval, quiet: quiet, interactive: interactive)
    }

    /// Creates the run directory and this rank's metrics files; a resumed run (`appending`) adds to
    /// the files of the run it continues.
    func open(appending: Bool = false) throws {
        metrics = try MetricsFileWriter(directory: config.logging.runDir + "/metrics", rank: rank, appending: appending)
    }

    func handle(_ event: TrainingEvent) {
        metrics?.write(event, elapsed: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        if case .finished = event, barShown { print(""); barShown = false }
        for output in console.render(event) {
            switch output {
            case let .bar(text):
                print("\r\u{1B}[2K" + text, terminator: "")
                barShown = true
            case let .line(text):
                clearBar()
                print(text)
            case let .error(text):
                clearBar()
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
            fflush(stdout)
        }
    }

    /// Erases the bar (it is redrawn at the next step).
    private func clearBar() {
        guard barShown else { return }
        print("\r\u{1B}[2K", terminator: "")
        barShown = false
    }
}
