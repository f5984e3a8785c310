#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A one-line progress bar on standard error with throughput, e.g.
/// `encode   [##########----------]  50%  1.3/2.6 MB  11.8 MB/s`.
///
/// On a terminal the line redraws in place at most ten times a second; otherwise (logs, CI) only
/// the final line of each phase is printed, so logs stay short.
public final class ProgressBar {
    /// The phase name shown at the left.
    public let label: String
    /// The amount that means 100%.
    public let total: Int
    /// The unit shown after the amounts: "MB" scales bytes, anything else is printed as counted.
    public let unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interactive: Bool
    private let enabled: Bool
    private(set) var done = 0

    /// A bar for `total` units of work; `enabled: false` prints nothing at all.
    public init(label: String, total: Int, unit: String = "MB", enabled: Bool = true) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.enabled = enabled
        interactive = isatty(2) != 0
    }

    /// Records progress (absolute amount done) and redraws when due.
    public func update(_ amount: Int) {
        done = min(amount, total)
        guard enabled, interactive, Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        write(line(), ending: "\r")
    }

    /// Prints the final line of the phase.
    public func finish(_ note: String = "") {
        done = total
        guard enabled else { return }
        write(line() + (note.isEmpty ? "" : "  " + note), ending: "\n")
    }

    /// Seconds since the bar was created.
    public var elapsed: Double { Date().timeIntervalSince(start) }

    private func line() -> String {
        let fraction = Double(done) / Double(total)
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let seconds = max(elapsed, 1e-6)
        let amounts: String
        if unit == "MB" {
            amounts = String(format: "%.1f/%.1f MB  %.1f MB/s", Double(done) / 1e6, Double(total) / 1e6, Double(done) / 1e6 / seconds)
        } else {
            amounts = "\(done)/\(total) \(unit)  " + String(format: "%.0f", Double(done) / seconds) + " \(unit)/s"
        }
        let name = label.padding(toLength: max(label.count, 8), withPad: " ", startingAt: 0)
        let percent = String(Int(fraction * 100))
        return "\(name) [\(bar)] " + String(repeating: " ", count: 3 - percent.count) + percent + "%  " + amounts
    }

    private func write(_ text: String, ending: String) {
        FileHandle.standardError.write((text + ending).data(using: .utf8)!)
    }
}
