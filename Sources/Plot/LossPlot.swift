import Foundation

/// Draws a run's metrics as an SVG, four panels over a shared step axis: the loss (each step's training
/// loss, thin, under its smoothed curve, and the validation loss), the learning rate, the gradient
/// norm (before clipping) and tokens per second, with axes, ticks, legends and a title. A fine-tuning
/// run's evaluations that measured accuracy add a fifth panel: the held-out accuracy on a 0–1 axis
/// and, dashed across it, the majority-class baseline (always answering the most frequent label).
///
/// Each series is one `<polyline>` with an `id` (`train-loss`, `train-loss-smoothed`, `val-loss`,
/// `learning-rate`, `grad-norm`, `tokens-per-second`, `val-accuracy`, `majority-baseline`) and one
/// point per record that has the value (the baseline: its latest value at both ends of the axis), so
/// the file is easy to check by machine as well as by eye; a panel with no values says so. Pure text:
/// no fonts or libraries needed to write it; any browser or `rsvg-convert` renders it.
public struct LossPlot {
    /// The records drawn.
    public let log: MetricsLog
    /// The title line.
    public let title: String
    /// Picture size in pixels (an accuracy panel adds its own height below).
    public var width = 960.0, height = 1040.0

    /// A plot of `log` under `title`.
    public init(log: MetricsLog, title: String) {
        self.log = log
        self.title = title
    }

    /// A linear axis: data range, nice tick values, and the pixel span it maps to.
    struct Axis {
        var lo: Double, hi: Double
        var ticks: [Double]
        var pixelLo: Double, pixelHi: Double

        /// Nice ticks (1, 2, 5 × 10ⁿ), about `count` of them: the axis widens to the ticks around
        /// [lo, hi], or with `tight` spans exactly [lo, hi] with the ticks that fall inside.
        init(lo rawLo: Double, hi rawHi: Double, pixels: (Double, Double), count: Int = 6, includeZero: Bool = false, tight: Bool = false) {
            var lo = includeZero ? min(0, rawLo) : rawLo, hi = rawHi
            if !(hi > lo) { let pad = max(abs(lo) * 0.05, 0.5); lo -= pad; hi += pad }
            let raw = (hi - lo) / Double(max(1, count))
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            let first = floor(lo / step) * step, last = ceil(hi / step) * step
            ticks = stride(from: first, through: last + step * 0.001, by: step).map { $0 }
            if tight {
                self.lo = lo; self.hi = hi
                ticks = ticks.filter { $0 >= lo - step * 0.001 && $0 <= hi + step * 0.001 }
            } else {
                self.lo = first; self.hi = last
            }
            pixelLo = pixels.0; pixelHi = pixels.1
        }

        func map(_ v: Double) -> Double { pixelLo + (v - lo) / (hi - lo) * (pixelHi - pixelLo) }
    }

    /// Formats a tick label compactly (1.5k, 2M, 0.25).
    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return trim(String(format: "%.2f", v / 1e6)) + "M" }
        if a >= 1e4 { return trim(String(format: "%.1f", v / 1e3)) + "k" }
        if a >= 100 || a == 0 { return String(format: "%.0f", v) }
        if a < 0.01 { return String(format: "%.0e", v) }  // learning rates: 3e-04
        return trim(String(format: "%.3f", v))
    }

    private static func trim(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The training loss smoothed as TensorBoard does: an exponential moving average with weight
    /// w = 1 − 1/span, span = n/20 steps clamped to 1…100, divided by 1 − wᵏ after k values so that the
    /// start is not pulled towards zero. A constant series stays constant.
    public static func smoothed(_ values: [Double]) -> [Double] {
        let span = min(100, max(1, Double(values.count) / 20)), w = 1 - 1 / span
        var average = 0.0, weight = 1.0
        return values.map { v in
            average = w * average + (1 - w) * v
            weight *= w
            return weight < 1 ? average / (1 - weight) : v
        }
    }

    /// The SVG document. Throws when there is not a single step record to draw.
    public func svg() throws -> String {
        guard !log.steps.isEmpty else {
            throw PlotError("the metrics hold no step records yet; plot after the run has logged a step")
        }
        let left = 90.0, right = width - 30
        let lossTop = 70.0, lossBottom = height * 0.45
        let small = (height - 50 - lossBottom - 3 * 45) / 3
        let accuracy = log.evals.compactMap { e in e.accuracy.map { (Double(e.step), $0) } }
        let total = height + (accuracy.isEmpty ? 0 : small + 45)  // a fifth panel below the others
        let tops = (0..<4).map { lossBottom + 45 + Double($0) * (small + 45) }
        let allSteps = log.steps.map(\.step) + log.evals.map(\.step)
        let x = Axis(lo: Double(allSteps.min()!), hi: Double(allSteps.max()!), pixels: (left, right), count: 8, tight: true)
        let losses = log.steps.map(\.loss) + log.evals.map(\.loss)
        let y = Axis(lo: losses.min()!, hi: losses.max()!, pixels: (lossBottom, lossTop))

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(total))" viewBox="0 0 \(Int(width)) \(Int(total))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="28" text-anchor="middle" font-size="17" font-weight="bold">\(Self.escape(title))</text>

        """
        out += panel(x: x, y: y, top: lossTop, bottom: lossBottom, left: left, right: right, yLabel: "loss")
        out += "<text x=\"\((left + right) / 2)\" y=\"\(total - 12)\" text-anchor=\"middle\">step</text>\n"
        let steps = log.steps.map { x.map(Double($0.step)) }
        out += polyline(id: "train-loss", color: "#aec7e8", width: 1, points: zip(steps, log.steps.map { y.map($0.loss) }).map { ($0, $1) })
        let smooth = Self.smoothed(log.steps.map(\.loss))
        out += polyline(id: "train-loss-smoothed", color: "#1f77b4", width: 2.2, points: zip(steps, smooth.map(y.map)).map { ($0, $1) })
        if !log.evals.isEmpty {
            let points = log.evals.map { (x.map(Double($0.step)), y.map($0.loss)) }
            out += polyline(id: "val-loss", color: "#ff7f0e", width: 2.2, points: points)
            for p in points { out += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"#ff7f0e\"/>\n", p.0, p.1) }
        }
        var entries = [("train loss (each step)", "#aec7e8"), ("train loss (smoothed)", "#1f77b4")]
        if !log.evals.isEmpty { entries.append(("validation loss", "#ff7f0e")) }
        out += legend(entries, x: right - 210, top: lossTop)
        let series: [(id: String, label: String, color: String, value: KeyPath<MetricsLog.Step, Double?>)] = [
            ("learning-rate", "learning rate", "#9467bd", \.lr), ("grad-norm", "grad norm", "#d62728", \.gradNorm),
            ("tokens-per-second", "tokens/s", "#2ca02c", \.tokensPerSecond),
        ]
        for (i, s) in series.enumerated() {
            let top = tops[i], bottom = top + small
            let records = log.steps.compactMap { step in step[keyPath: s.value].map { (Double(step.step), $0) } }
            let axis = Axis(lo: 0, hi: records.map(\.1).max() ?? 1, pixels: (bottom, top), count: 3, includeZero: true)
            out += panel(x: x, y: axis, top: top, bottom: bottom, left: left, right: right, yLabel: s.label)
            if records.isEmpty {
                out += "<text x=\"\((left + right) / 2)\" y=\"\((top + bottom) / 2)\" text-anchor=\"middle\" fill=\"#888\">not in the metrics file</text>\n"
            } else {
                out += polyline(id: s.id, color: s.color, width: 1.5, points: records.map { (x.map($0.0), axis.map($0.1)) })
            }
        }
        if !accuracy.isEmpty { out += accuracyPanel(accuracy, x: x, top: tops[3], bottom: tops[3] + small, left: left, right: right) }
        out += "</svg>\n"
        return out
    }

    /// The held-out accuracy (`points`: step, accuracy) on a 0–1 axis, with the majority-class baseline
    /// dashed across the panel at its latest value and both named in a legend.
    private func accuracyPanel(_ points: [(Double, Double)], x: Axis, top: Double, bottom: Double, left: Double, right: Double) -> String {
        let y = Axis(lo: 0, hi: 1, pixels: (bottom, top), count: 5, tight: true)
        var out = panel(x: x, y: y, top: top, bottom: bottom, left: left, right: right, yLabel: "accuracy")
        out += polyline(id: "val-accuracy", color: "#ff7f0e", width: 2.2, points: points.map { (x.map($0.0), y.map($0.1)) })
        for p in points { out += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"#ff7f0e\"/>\n", x.map(p.0), y.map(p.1)) }
        var entries = [("held-out accuracy", "#ff7f0e")]
        if let baseline = log.evals.last(where: { $0.baseline != nil })?.baseline {
            out += polyline(id: "majority-baseline", color: "#7f7f7f", width: 1.5, points: [(left, y.map(baseline)), (right, y.map(baseline))],
                            dash: "6,4")
            entries.append((String(format: "majority-class baseline %.3f", baseline), "#7f7f7f"))
        }
        return out + legend(entries, x: right - 270, top: top)
    }

    /// A legend of (name, colour) rows from (`x`, `top`).
    private func legend(_ entries: [(String, String)], x lx: Double, top: Double) -> String {
        var out = ""
        for (i, (name, color)) in entries.enumerated() {
            let ly = top + 18 + Double(i) * 20
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"3\"/>\n", lx, ly - 4, lx + 28, ly - 4, color)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", lx + 36, ly, name)
        }
        return out
    }

    private func panel(x: Axis, y: Axis, top: Double, bottom: Double, left: Double, right: Double, yLabel: String) -> String {
        var out = String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n", left, top, right - left, bottom - top)
        for t in y.ticks {
            let py = y.map(t)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, py, right, py)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, py + 4, Self.label(t))
        }
        for t in x.ticks {
            let px = x.map(t)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", px, top, px, bottom)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px, bottom + 16, Self.label(t))
        }
        out += String(format: "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">%@</text>\n", left - 55, (top + bottom) / 2, yLabel)
        return out
    }

    private func polyline(id: String, color: String, width: Double, points: [(Double, Double)], dash: String? = nil) -> String {
        let list = points.map { String(format: "%.2f,%.2f", $0.0, $0.1) }.joined(separator: " ")
        let dashed = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        return "<polyline id=\"\(id)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\"\(dashed) stroke-linejoin=\"round\" points=\"\(list)\"/>\n"
    }
}
