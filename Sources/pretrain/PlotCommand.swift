import ArgumentParser
import Foundation
import Plot

/// `pretrain plot RUN_DIR`: loss (raw, smoothed, validation), learning rate, gradient norm and
/// tokens/s against steps, as an SVG (and a PNG when a converter is installed).
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot a run's loss, learning rate, gradient norm and throughput to <run_dir>/plot.svg and plot.png.",
        discussion: """
        Reads rank 0's <run_dir>/metrics/rank-00000.jsonl (every complete line; a line cut short by a
        crash, or still being written, is skipped and reported). `pretrain train` runs it by itself at
        the end of a run. Example:
          pretrain plot runs/tiny            → runs/tiny/plot.svg, runs/tiny/plot.png
          pretrain plot runs/tiny --out /tmp/tiny   → /tmp/tiny.svg, /tmp/tiny.png
        """.helpParagraphs)

    @Argument(help: "A run directory (logging.run_dir) or a metrics .jsonl file.") var runDir: String
    @Option(help: "Output path without extension (default: <run_dir>/plot).") var out: String?
    @Flag(help: "Write only the SVG, even when a converter is installed.") var noPNG = false

    func run() throws {
        Self.report(try RunPlotter.plot(runDir, outBase: out, png: !noPNG))
    }

    /// Prints what a plot wrote (and skipped) in a line or two.
    static func report(_ result: RunPlotter.Result) {
        if let skipped = result.skipped { FileHandle.standardError.write(Data("warning: \(skipped)\n".utf8)) }
        var line = "plot: \(result.steps) step(s), \(result.evals) eval(s) → \(result.svg)"
        if let png = result.png { line += ", \(png)" } else if let note = result.pngNote { line += " (\(note))" }
        print(line)
    }
}
