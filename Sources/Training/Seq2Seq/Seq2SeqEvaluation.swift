import DataPipeline
import Distributed
import Foundation
import Model

/// A T5 or Transformer checkpoint evaluated on (source, target) pairs: the loss per target token and
/// the teacher-forced token accuracy, and with `generate` the BLEU and chrF (sacreBLEU's definitions)
/// of its greedy or beam-search outputs against the targets. Used by `pretrain eval` on an encoder-decoder checkpoint.
///
/// Under several ranks each takes a contiguous share of the pairs; the loss sums and the BLEU and
/// chrF statistics (counts, which add up) are summed over the ranks, so any rank count gives the same
/// scores.
public struct Seq2SeqEvaluation {
    /// What to evaluate and how (flags of `pretrain eval`).
    public struct Settings {
        /// Pairs file (JSON lines) and its fields.
        public var data = "", sourceField = "source", targetField = "target"
        /// The task prefix (default: the checkpoint's data.source_prefix).
        public var prefix: String?
        /// Pairs per forward (default: the checkpoint's training.micro_batch).
        public var microBatch: Int?
        /// Generate and score BLEU and chrF; at most `maxNewTokens` tokens per output, greedy or (with
        /// `numBeams` > 1) beam search ranked by `lengthPenalty`, stopping as `earlyStopping` says
        /// (true, false or never), with Hugging Face `generate`'s meanings.
        public var generate = false
        public var maxNewTokens = 64
        public var numBeams = 1, lengthPenalty = 1.0, earlyStopping = "false"
        /// A tokenizer.json instead of the checkpoint's.
        public var tokenizer: String?
        public init() {}
    }

    /// Mean cross-entropy per target token (nats) and the share of target tokens predicted (argmax).
    public let loss: Double, tokenAccuracy: Double
    /// Pairs and target tokens (EOS included) evaluated; pairs cut to the limits; ranks.
    public let pairs: Int, tokens: Int, truncated: Int, ranks: Int
    /// BLEU and chrF of the generated outputs (with `generate`).
    public let bleu: BLEU?, chrF: ChrF?
    /// The first outputs of rank 0 with their references (with `generate`), for a look.
    public let samples: [(output: String, reference: String)]
    /// Beams of the generation (1: greedy).
    public let beams: Int

    /// Evaluates `checkpoint` (a T5 or a Transformer) on `settings.data`, collectively over `comm`. The
    /// source and target limits are the checkpoint's training.seq_len and training.target_len (a
    /// Transformer's: training.seq_len both, as it trained); longer rows are truncated and counted. The
    /// loss is the model's training loss (label-smoothed where the config smooths). Errors are one
    /// line (exit status 2).
    public static func run(_ checkpoint: ModelCheckpoint, settings s: Settings, comm: any Communicator) throws -> Seq2SeqEvaluation {
        let family = checkpoint.architecture
        guard family == .t5 || family == .transformer else {
            throw TrainingError("\(checkpoint.directory) is a \(family.displayName) checkpoint (model.arch \(family.rawValue)); seq2seq evaluation needs a T5 or Transformer checkpoint — evaluate a GPT on token shards without a pairs file", exitCode: 2)
        }
        guard !s.data.isEmpty else {
            throw TrainingError("\(checkpoint.directory) is a \(family.displayName) checkpoint: it is evaluated on (source, target) pairs — pass --data PAIRS.jsonl (JSON lines {\"source\": …, \"target\": …})", exitCode: 2)
        }
        let generation: GenerationSettings
        do {
            generation = try GenerationSettings(maxNewTokens: s.maxNewTokens, numBeams: s.numBeams, lengthPenalty: s.lengthPenalty,
                                                earlyStopping: s.earlyStopping, temperature: nil, topK: nil, topP: nil, seed: 0)
            try generation.validate(vocabularySize: checkpoint.config.model.vocabSize)
        } catch let e as ModelError { throw TrainingError(e.message, exitCode: 2) }
        let (scorer, data, decode) = try family == .t5 ? t5(checkpoint, s) : transformer(checkpoint, s)
        let share = (data.count * comm.rank / comm.size)..<(data.count * (comm.rank + 1) / comm.size)
        let sums = try scorer.evaluate(data, range: share)
        var totals = [sums.lossSum, sums.correct, sums.tokens]
        var samples: [(String, String)] = []
        if s.generate {
            let outputs = try scorer.generate(data, range: share, settings: generation).map(decode)
            let references = Array(data.references[share])
            samples = Array(zip(outputs, references).prefix(3))
            totals += BLEU.corpus(hypotheses: outputs, references: references).counts
            totals += ChrF.corpus(hypotheses: outputs, references: references).counts
        }
        if comm.size > 1 { try comm.allreduce(&totals, op: .sum) }
        return Seq2SeqEvaluation(loss: totals[0] / max(1, totals[2]), tokenAccuracy: totals[1] / max(1, totals[2]), pairs: data.count,
                                 tokens: Int(totals[2]), truncated: data.truncated, ranks: comm.size,
                                 bleu: s.generate ? BLEU(counts: Array(totals[3..<13])) : nil,
                                 chrF: s.generate ? ChrF(counts: Array(totals[13..<31])) : nil, samples: samples, beams: s.numBeams)
    }

    /// A T5's scorer, its pairs (the task prefix before each source, tokenized with EOS as Hugging
    /// Face's T5 tokenizer does) and its detokenizer.
    private static func t5(_ checkpoint: ModelCheckpoint, _ s: Settings) throws -> (Seq2SeqScorer, Seq2SeqExamples, ([Int32]) -> String) {
        let c = checkpoint.config
        let B = s.microBatch ?? c.training.microBatch
        let S = c.training.seqLen, T = max(2, c.training.targetLen > 0 ? c.training.targetLen : c.training.seqLen)
        let model = try checkpoint.t5(batch: B, source: S, target: T, needs: "seq2seq evaluation needs")
        let tokenizer = try checkpoint.byteLevelTokenizer(explicit: s.tokenizer)
        let data = try TrainingError.translating(exitCode: 2) {
            try Seq2SeqExamples(pairs(s), tokenizer: tokenizer, prefix: s.prefix ?? c.data.sourcePrefix, eos: model.config.eosTokenId,
                                sourceLength: S, targetLength: T, overflow: .truncate)
        }
        return (Seq2SeqScorer(t5: model, microBatch: B), data, { tokenizer.decodeText($0) })
    }

    /// A Transformer's scorer, its pairs (tokenized without special tokens, then EOS, as its training
    /// shards are: no prefix) and its detokenizer.
    private static func transformer(_ checkpoint: ModelCheckpoint, _ s: Settings) throws -> (Seq2SeqScorer, Seq2SeqExamples, ([Int32]) -> String) {
        guard s.prefix == nil else {
            throw TrainingError("--prefix applies to T5; \(checkpoint.directory) is a Transformer checkpoint, trained on its sources as they are — drop --prefix", exitCode: 2)
        }
        let c = checkpoint.config, B = s.microBatch ?? c.training.microBatch, L = c.training.seqLen
        let model = try checkpoint.transformer(source: L, batch: B, target: L, needs: "seq2seq evaluation needs")
        let tokenizer = try checkpoint.tokenizer(explicit: s.tokenizer)
        let data = try TrainingError.translating(exitCode: 2) {
            let pairs = try pairs(s), encode = { tokenizer.encode($0, addSpecialTokens: false) }
            return try Seq2SeqExamples(sourceIds: pairs.sources.map(encode), targetIds: pairs.targets.map(encode), references: pairs.targets,
                                       eos: model.config.eosTokenId, sourceLength: L, targetLength: L, overflow: .truncate) { "\(pairs.path):\(pairs.lines[$0])" }
        }
        return (Seq2SeqScorer(transformer: model, microBatch: B), data, { tokenizer.decode($0) })
    }

    private static func pairs(_ s: Settings) throws -> Seq2SeqPairs {
        try Seq2SeqPairs.load(path: s.data, sourceField: s.sourceField, targetField: s.targetField)
    }

    /// `pretrain eval` on an encoder-decoder checkpoint from its flags: evaluates (collectively over `comm`) and returns
    /// what rank 0 prints (the first outputs with their references, with `generate`, then `message`).
    public static func report(_ checkpoint: ModelCheckpoint, data: String?, fields: String, settings: Settings, comm: any Communicator) throws -> String {
        var s = settings
        s.data = data ?? ""
        (s.sourceField, s.targetField) = try Seq2SeqExamples.fields(fields)
        let result = try run(checkpoint, settings: s, comm: comm)
        return (result.samples.map { "output: \($0.output)\n  reference: \($0.reference)" } + [result.message(data: s.data, checkpoint: checkpoint)])
            .joined(separator: "\n")
    }

    /// The line `pretrain eval` prints (after the samples, with `generate`).
    public func message(data: String, checkpoint: ModelCheckpoint) -> String {
        var line = String(format: "val loss %.6f | perplexity %.4f | token accuracy %.4f", loss, exp(loss), tokenAccuracy)
        if let bleu, let chrF { line += String(format: " | BLEU %.2f | chrF %.2f", bleu.score, chrF.score) + (beams > 1 ? " | \(beams) beams" : " | greedy") }
        line += " | \(pairs) pairs (\(tokens) target tokens) of \(data)"
        if truncated > 0 { line += ", \(truncated) truncated to training.seq_len/target_len" }
        return line + " × \(ranks) rank(s) | checkpoint step \(checkpoint.reader.manifest.step) (\(checkpoint.directory))"
    }
}
