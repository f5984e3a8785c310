import Config
import DataPipeline
import Training

extension TransferBenchmark {
    /// The in-process pretraining run: the config at `path` as `settings` pretrains it (its family and
    /// objective, one process, `pretrainSteps` steps of one micro-batch, no validation), then
    /// `overrides`; with its data.tokenizer. One-line errors for a config or tokenizer that does not load.
    public static func pretrainingRun(config path: String, overrides: [String], _ s: Settings) throws -> (run: RunConfig, tokenizer: HuggingFaceTokenizer) {
        let run: RunConfig
        do {
            run = try ConfigLoader.load(path: path, overrides: ["model.arch=\(s.arch.rawValue)", "training.objective=\(s.arch == .bert ? "mlm" : "clm")",
                                                                "num_processes=1", "training.steps=\(s.pretrainSteps)", "training.global_batch=0",
                                                                "training.gradient_accumulation_steps=1", "data.val="] + overrides)
        } catch let e as ConfigError { throw BenchmarkError(e.message) }
        do { return (run, try HuggingFaceTokenizer.load(from: run.data.tokenizer).withoutTruncationAndPadding()) } catch let e as DataError { throw BenchmarkError("\(e)") }
    }

    /// The pretrained body of `checkpoint`, a language model of either family (a classifier is refused
    /// in one line).
    public static func body(of checkpoint: ModelCheckpoint) throws -> Body {
        guard checkpoint.config.family.numLabels == 0 else {
            throw BenchmarkError("\(checkpoint.directory) is already a classifier (model.num_labels \(checkpoint.config.family.numLabels)); give a pretrained language-model checkpoint")
        }
        switch checkpoint.architecture {
        case .bert: return .bert(try checkpoint.bert(batch: 1, seqLen: 1))
        case .gpt: return .gpt(try checkpoint.gpt(batch: 1, seqLen: 1))
        case .t5, .transformer:
            throw BenchmarkError("\(checkpoint.directory) is a \(checkpoint.architecture.displayName) checkpoint; the transfer benchmark fine-tunes BERT or GPT classifiers")
        }
    }
}
