import Config
import DataPipeline
import Foundation
import Model

/// The encoder-decoder of "Attention Is All You Need" (`model.arch: transformer`, `torch.nn.Transformer`
/// at parity), trained on source → target pairs (`training.objective: seq2seq`).
///
/// `data.train` and `data.val` are JSON-lines pair files (`{"source": …, "target": …}`, e.g. from
/// `pretrain data gettext-task`). At start each rank tokenizes them with `data.tokenizer` into a token
/// shard of fixed-width rows under `<logging.run_dir>/pair-shards/rank-NNNNN/` (`PairShard`: source + EOS padded to
/// `training.seq_len`, then target + EOS padded to `training.seq_len`), which the ordinary loader reads
/// one pair per sample: shuffling, rank slicing, N ranks = 1 rank and resume work as for every family.
/// The loss is label-smoothed cross-entropy over the target tokens only (padding is ignored).
public enum TransformerFamily: ModelFamily {
    public static let architecture = Architecture.transformer

    public static func parameterTable(_ config: RunConfig) -> any ParameterTable { TransformerLayout(config: config.transformerConfig) }

    /// Pad and EOS come from the run's tokenizer (`[PAD]` and `<|endoftext|>` from `pretrain data prepare`,
    /// or T5's `<pad>` and `</s>`).
    public static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective {
        let t = config.training
        let specials = try specialTokens(config)
        var c = config.transformerConfig
        (c.padTokenId, c.eosTokenId) = specials
        let model = try translatingErrors { try TransformerModel(config: c, maxBatch: t.microBatch, maxSource: t.seqLen, maxTarget: t.seqLen) }
        model.initializeWeights(seed: UInt64(t.seed))
        return PairObjective(model, microBatch: t.microBatch, length: t.seqLen)
    }

    /// The pad and EOS ids of `data.tokenizer`.
    static func specialTokens(_ config: RunConfig) throws -> (pad: Int32, eos: Int32) {
        let path = try requiredTokenizer(config, "a Transformer run tokenizes its pairs with it and reads the pad and EOS ids", preparedBy: "pretrain data prepare")
        return try translatingErrors {
            let tokenizer = try HuggingFaceTokenizer.load(from: path)
            let pad = tokenizer.id(of: "<pad>") ?? tokenizer.id(of: AddedToken.pad)
            let eos = tokenizer.id(of: "</s>") ?? tokenizer.id(of: AddedToken.endOfText)
            guard let pad, let eos else {
                throw DataError.missingSpecialTokens(path: path, missing: (pad == nil ? ["<pad> or \(AddedToken.pad)"] : [])
                                                        + (eos == nil ? ["</s> or \(AddedToken.endOfText)"] : []))
            }
            return (pad, eos)
        }
    }

    /// The pair files tokenized into `<logging.run_dir>/pair-shards/rank-NNNNN/{train,val}_000000.bin`
    /// (each rank its own copy: ranks may share a process or not share a disk); the notice counts the
    /// pairs cut to `training.seq_len`.
    public static func tokenShards(_ config: RunConfig, rank: Int) throws -> (train: String, val: String, notice: String?) {
        let (pad, eos) = try specialTokens(config)
        let tokenizer = try HuggingFaceTokenizer.load(from: config.data.tokenizer).withoutTruncationAndPadding()
        let L = config.training.seqLen, directory = config.logging.runDir + String(format: "/pair-shards/rank-%05d", rank)
        var notices: [String] = []
        func shard(_ location: String, _ split: String) throws -> String {
            guard !location.isEmpty else { return "" }
            let path = "\(directory)/\(split)_000000.bin"
            let pairs = try Seq2SeqPairs.load(path: location, fieldsOption: nil)
            let s = try PairShard.write(pairs, encode: { tokenizer.encode($0, addSpecialTokens: false) }, pad: pad, eos: eos,
                                        sourceLength: L, targetLength: L, wideTokens: config.model.vocabSize > 65536, to: path)
            if s.truncatedSources + s.truncatedTargets > 0 {
                notices.append("\(location): \(s.truncatedSources) of \(s.pairs) sources and \(s.truncatedTargets) targets are longer than training.seq_len \(L) − 1 tokens and were cut (EOS kept)")
            }
            return path
        }
        let train = try shard(config.data.train, "train"), val = try shard(config.data.val, "val")
        return (train, val, notices.isEmpty ? nil : notices.joined(separator: "; "))
    }

    /// S + T: one pair per loader row.
    public static func loaderSequenceLength(_ config: RunConfig) -> Int { 2 * config.training.seqLen }

    /// Per source token (what the trainer counts), with S = T = `training.seq_len`: 6 × (every parameter
    /// but the embedding + the V·C projection) plus the attention products (12·C per layer per attended
    /// position: encoder self S, decoder self T and cross S).
    public static func flopsPerToken(_ config: RunConfig, parameters: Int) -> Double {
        let c = config.transformerConfig, S = Double(config.training.seqLen)
        let attention = 12.0 * Double(c.dModel) * (Double(c.numEncoderLayers) * S + Double(c.numDecoderLayers) * 2 * S)
        return 6.0 * Double(parameters) + attention
    }

    public static let minimumClassifierSequenceLength = 1

    /// The Transformer translates; it is not a classifier: refused in one line.
    public static func fineTune(_ run: FineTuneRun, checkpoint: ModelCheckpoint, labels: Int) throws -> FineTuneRun.Result {
        throw TrainingError("\(checkpoint.directory) is a Transformer checkpoint; `pretrain finetune` trains classifiers on BERT or GPT checkpoints — train the Transformer on more pairs with `pretrain train` instead", exitCode: 2)
    }

    /// nn.Transformer has no Hugging Face model type.
    public static let huggingFaceModelTypes: [String] = []

    /// Hugging Face has no model class for nn.Transformer: the export is a PyTorch state_dict in
    /// safetensors (`TransformerModel.exportTorch`: `embedding.weight`, `transformer.…` under
    /// nn.Transformer's names) with config.json holding its constructor arguments, and the tokenizer.
    public static func exportHuggingFace(_ checkpoint: ModelCheckpoint, to out: String) throws -> String {
        let model = try checkpoint.transformer(source: 1)
        do { try model.exportTorch(to: out) } catch let e as ModelError { throw TrainingError(e.message) }
        return try copyTokenizer(of: checkpoint, to: out) + " as a torch.nn.Transformer state_dict (model.safetensors; config.json: its arguments)"
    }

    /// Never reached (no `model_type` maps here); refused in one line.
    public static func importHuggingFace(_ directory: String, into run: RunConfig) throws -> HuggingFaceImport {
        throw TrainingError("\(directory): Hugging Face directories import as gpt2, bert or t5, not as model.arch transformer", exitCode: 2)
    }
}

/// Supervised seq2seq on pair rows (see `PairShard`): each loader row is split into the source (its
/// padding masked) and the target (its padding ignored by the loss); the decoder reads the target
/// shifted right after EOS.
final class PairObjective: PretrainingObjective {
    let transformer: TransformerModel
    let microBatch: Int, length: Int
    var model: any LanguageModel { transformer }
    private let source, decoderInput, targets: UnsafeMutableBufferPointer<Int32>
    private let sourceMask: UnsafeMutableBufferPointer<UInt8>

    init(_ transformer: TransformerModel, microBatch: Int, length: Int) {
        self.transformer = transformer
        self.microBatch = microBatch
        self.length = length
        (source, decoderInput, targets) = (.allocate(capacity: microBatch * length), .allocate(capacity: microBatch * length),
                                           .allocate(capacity: microBatch * length))
        sourceMask = .allocate(capacity: microBatch * length)
    }

    deinit { source.deallocate(); decoderInput.deallocate(); targets.deallocate(); sourceMask.deallocate() }

    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float {
        let B = microBatch, L = length, rows = loader.inputs, c = transformer.config
        precondition(loader.sequenceLength == 2 * L, "pair rows are source and target of training.seq_len each")
        for b in 0..<B {
            for i in 0..<L {
                let s = rows[b * 2 * L + i], t = rows[b * 2 * L + L + i]
                source[b * L + i] = s
                sourceMask[b * L + i] = s == c.padTokenId ? 0 : 1
                targets[b * L + i] = t == c.padTokenId ? c.ignoreIndex : t
            }
        }
        transformer.shiftRight(targets.baseAddress!, into: decoderInput.baseAddress!, B: B, T: L)
        transformer.dropoutSeed = dropoutSeed
        return try transformer.forward(source: source.baseAddress!, sourceMask: sourceMask.baseAddress!, decoderInput: decoderInput.baseAddress!,
                                       targets: targets.baseAddress!, B: B, S: L, T: L)
    }
}
