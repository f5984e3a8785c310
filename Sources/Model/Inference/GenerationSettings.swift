import Foundation

/// How a decoder chooses its output, with Hugging Face `generate`'s arguments and defaults: greedy
/// (`doSample` false, `numBeams` 1), sampling (`doSample`: temperature, top-k, top-p, from `seed`) or
/// beam search (`numBeams` > 1: `lengthPenalty`, `earlyStopping`), for at most `maxNewTokens` tokens.
public struct GenerationSettings: Equatable, Sendable {
    /// When beam search stops (`early_stopping`).
    public enum EarlyStopping: String, Sendable, CaseIterable {
        /// `True`: as soon as `numBeams` hypotheses have finished.
        case whenFull = "true"
        /// `False` (the default): when the best running beam, at its current length, cannot beat the
        /// worst finished hypothesis.
        case heuristic = "false"
        /// `"never"`: when no running beam can beat it at any length up to the limit (with a positive
        /// length penalty: at the longest length).
        case never
    }

    /// New tokens at most (EOS, when reached, is one of them).
    public var maxNewTokens = 64
    /// Beams; 1 = no beam search.
    public var numBeams = 1
    /// Finished hypotheses are ranked by sum of log-probabilities / length ** lengthPenalty.
    public var lengthPenalty = 1.0
    /// When beam search stops.
    public var earlyStopping = EarlyStopping.heuristic
    /// Outputs per source (`num_return_sequences`): the best beams (at most `numBeams`), or samples
    /// drawn one after another; greedy decoding has one.
    public var numReturnSequences = 1
    /// Sample instead of taking the most likely token.
    public var doSample = false
    /// Sampling: softmax temperature (0 = greedy).
    public var temperature: Float = 1
    /// Sampling: keep only the k most likely tokens (0 = all); nil: Hugging Face's default, 50 (at
    /// most the vocabulary).
    public var topK: Int?
    /// Sampling: keep the most likely tokens whose probability reaches p (1 = all).
    public var topP: Float = 1
    /// Sampling: the random stream's seed.
    public var seed: UInt64 = 0

    public init() {}

    /// Settings from `pretrain predict`'s flags: sampling (`do_sample`) when any of `temperature`,
    /// `topK`, `topP` is given (temperature 0 alone: greedy), the others at Hugging Face's defaults;
    /// `earlyStopping` is true, false or never. Throws one line naming a bad flag.
    public init(maxNewTokens: Int, numBeams: Int, lengthPenalty: Double, earlyStopping: String,
                temperature: Float?, topK: Int?, topP: Float?, seed: UInt64, numReturnSequences: Int = 1) throws {
        guard let stopping = EarlyStopping(rawValue: earlyStopping.lowercased()) else {
            throw ModelError("--early-stopping \(earlyStopping) is not a choice; use true, false or never")
        }
        self.maxNewTokens = maxNewTokens
        self.numBeams = numBeams
        self.numReturnSequences = numReturnSequences
        self.lengthPenalty = lengthPenalty
        self.earlyStopping = stopping
        doSample = (temperature != nil || topK != nil || topP != nil) && temperature != 0
        self.temperature = temperature ?? 1
        self.topK = topK
        self.topP = topP ?? 1
        self.seed = seed
    }

    /// Checks the values against a vocabulary of `vocabularySize`; throws one line naming the
    /// `pretrain predict` flag.
    public func validate(vocabularySize: Int) throws {
        guard maxNewTokens >= 1 else { throw ModelError("--max-new-tokens \(maxNewTokens) must be at least 1") }
        guard numBeams >= 1 else { throw ModelError("--num-beams \(numBeams) must be at least 1 (1 = no beam search)") }
        guard numBeams * 2 <= vocabularySize else {
            throw ModelError("--num-beams \(numBeams) needs a vocabulary of at least \(2 * numBeams) tokens; the model has \(vocabularySize)")
        }
        guard numReturnSequences >= 1 else { throw ModelError("--num-return-sequences \(numReturnSequences) must be at least 1") }
        guard numBeams == 1 || numReturnSequences <= numBeams else {
            throw ModelError("--num-return-sequences \(numReturnSequences) is more than the \(numBeams) beams kept; use at most --num-beams, or more beams")
        }
        guard numBeams > 1 || doSample || numReturnSequences == 1 else {
            throw ModelError("--num-return-sequences \(numReturnSequences) needs --num-beams \(numReturnSequences) or more, or sampling (--temperature, --top-k, --top-p): greedy decoding has one output")
        }
        guard lengthPenalty.isFinite else { throw ModelError("--length-penalty \(lengthPenalty) must be a finite number") }
        guard !(doSample && numBeams > 1) else {
            throw ModelError("beam sampling (--num-beams \(numBeams) with --temperature, --top-k or --top-p) is not supported; sample with --num-beams 1, or search beams without sampling flags")
        }
        if doSample { _ = try sampler(vocabularySize: vocabularySize) }
    }

    /// The sampler of these settings (greedy unless `doSample`); throws for bad sampling values.
    public func sampler(vocabularySize: Int) throws -> TokenSampler {
        do {
            return try TokenSampler(temperature: doSample ? temperature : 0, topK: doSample ? topK ?? min(50, vocabularySize) : 0, topP: doSample ? topP : 1,
                                    seed: seed, vocabularySize: vocabularySize)
        } catch let error as ModelError {
            throw ModelError("--" + error.message)   // "top-k …" / "temperature …": name the flag
        }
    }
}
