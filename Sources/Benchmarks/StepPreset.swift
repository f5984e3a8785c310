/// A named model shape that `StepBenchmarkSettings` can carry: the GPT presets (`BenchPreset`) and the
/// T5 ones (`T5BenchPreset`).
public protocol StepPreset: Sendable {
    /// The preset called `name` (any case), or a `BenchmarkError` telling the valid names.
    static func named(_ name: String) throws -> Self
    /// The name the command line takes.
    var name: String { get }
    /// The batch shape of one step, as the table's first line shows it ("B=8 T=256").
    var shapeSummary: String { get }
}
