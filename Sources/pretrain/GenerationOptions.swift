import ArgumentParser
import Model

/// `pretrain predict`'s encoder-decoder (T5, Transformer) generation flags, with Hugging Face `generate`'s names and defaults.
struct GenerationOptions: ParsableArguments {
    @Option(help: "T5, Transformer: new tokens at most.") var maxNewTokens: Int = 64
    @Option(help: "T5, Transformer: beam search with N beams (1 = none).") var numBeams: Int = 1
    @Option(help: "Beams: rank finished ones by sum of log-probs / length^P.") var lengthPenalty: Double = 1
    @Option(help: "Beams: true (stop when N are finished), false (heuristic) or never.") var earlyStopping = "false"
    @Option(help: "T5, Transformer: outputs per text, best first (at most --num-beams; or that many samples).") var numReturnSequences: Int = 1
    @Option(help: "T5, Transformer: sample at this temperature (any of --temperature/--top-k/--top-p samples; 0 = greedy).") var temperature: Float?
    @Option(help: "T5, Transformer: sample among the most likely tokens whose probability reaches P.") var topP: Float?
    @Option(help: "Sampling: random seed.") var seed: UInt64 = 0

    /// The settings; `topK` is predict's --top-k (a sampling flag for T5).
    func settings(topK: Int?) throws -> GenerationSettings {
        do { return try GenerationSettings(maxNewTokens: maxNewTokens, numBeams: numBeams, lengthPenalty: lengthPenalty, earlyStopping: earlyStopping,
                                           temperature: temperature, topK: topK, topP: topP, seed: seed,
                                           numReturnSequences: numReturnSequences) } catch let e as ModelError { throw CLIError(e.message) }
    }
}
