import Foundation

/// Plots a run directory's metrics (rank 0's `metrics/rank-00000.jsonl`) to `plot.svg` in it, and to
/// `plot.png` when an SVG converter is installed (`rsvg-convert`, from librsvg2-bin, or ImageMagick's
/// `magick`).
public enum RunPlotter {
    /// What a plot wrote and what it had to leave out.
    public struct Result: Sendable {
        /// The SVG written.
        public var svg: String
        /// The PNG written, if a converter was found and worked.
        public var png: String?
        /// Why there is no PNG (no converter, or its error), when there is none.
        public var pngNote: String?
        /// Steps and evaluations drawn.
        public var steps: Int, evals: Int
        /// One line about skipped metrics lines, if any were.
        public var skipped: String?
    }

    /// The metrics file of `path`: the file itself, or `<path>/metrics/rank-00000.jsonl` for a run
    /// directory.
    public static func metricsFile(for path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PlotError("\(path) does not exist; pass a run directory (logging.run_dir, e.g. runs/tiny)")
        }
        guard isDirectory.boolValue else { return path }
        let file = path + "/metrics/rank-00000.jsonl"
        guard FileManager.default.fileExists(atPath: file) else {
            throw PlotError("\(path) has no metrics/rank-00000.jsonl; pass the logging.run_dir of a run that has started")
        }
        return file
    }

    /// Reads the metrics of `path` (run directory or metrics file) and writes `<outBase>.svg` (default
    /// `<run dir>/plot.svg`) and, when possible, `<outBase>.png`.
    public static func plot(_ path: String, outBase: String? = nil, png: Bool = true) throws -> Result {
        let file = try metricsFile(for: path)
        let log = try MetricsLog(path: file)
        let runDir = file.hasSuffix("/metrics/rank-00000.jsonl") ? String(file.dropLast("/metrics/rank-00000.jsonl".count)) : (file as NSString).deletingLastPathComponent
        var title = (runDir as NSString).lastPathComponent
        if let last = log.steps.last { title += String(format: " — %d steps, train loss %.3f", last.step, last.loss) }
        if let val = log.evals.last { title += String(format: ", val loss %.3f", val.loss) }
        let svg = try LossPlot(log: log, title: title).svg()
        let base = outBase ?? (runDir.isEmpty ? "plot" : runDir + "/plot")
        let svgPath = base + ".svg"
        do { try svg.write(toFile: svgPath, atomically: true, encoding: .utf8) } catch {
            throw PlotError("cannot write \(svgPath): \(error.localizedDescription); pass --out to write elsewhere")
        }
        var result = Result(svg: svgPath, png: nil, pngNote: nil, steps: log.steps.count, evals: log.evals.count, skipped: log.skippedSummary)
        if png {
            switch convert(svgPath, to: base + ".png") {
            case .success: result.png = base + ".png"
            case let .failure(error): result.pngNote = error.message
            }
        }
        return result
    }

    /// The first converter on PATH: its executable and arguments for (svg, png).
    static func converter() -> (String, (String, String) -> [String])? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for (name, args) in [("rsvg-convert", { (svg: String, png: String) in ["-b", "white", "-o", png, svg] }),
                             ("magick", { (svg: String, png: String) in [svg, png] })] {
            for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return ("\(dir)/\(name)", args)
            }
        }
        return nil
    }

    /// Renders `svg` to `png` with the first converter found.
    static func convert(_ svg: String, to png: String) -> Swift.Result<Void, PlotError> {
        guard let (tool, args) = converter() else {
            return .failure(PlotError("no PNG: no SVG converter found (install librsvg2-bin for rsvg-convert); open the SVG in a browser"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args(svg, png)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return .failure(PlotError("no PNG: cannot run \(tool): \(error.localizedDescription)")) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: png) else {
            let first = output.split(separator: "\n").first.map(String.init) ?? "exit status \(process.terminationStatus)"
            return .failure(PlotError("no PNG: \(tool) failed: \(first)"))
        }
        return .success(())
    }
}
