import Checkpoint
import Config
import Foundation
import DataPipeline
import Model

/// BERT: an encoder trained on dynamically masked inputs (mlm, optionally with next-sentence
/// prediction); fine-tuned as a classifier on the pooled [CLS].
public enum BERTFamily: ModelFamily {
    public static let architecture = Architecture.bert

    public static func parameterTable(_ config: RunConfig) -> any ParameterTable { BERTLayout(config: config.bertConfig) }

    /// The masker takes the [CLS] [SEP] [MASK] [PAD] ids from the run's tokenizer.
    public static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective {
        let path = try requiredTokenizer(config, "a BERT run reads the [CLS] [SEP] [MASK] [PAD] ids", preparedBy: "pretrain data prepare")
        let t = config.training, seed = UInt64(t.seed)
        return try translatingErrors {
            let specials = try BERTSpecialTokens(tokenizer: HuggingFaceTokenizer.load(from: path))
            let masker = try MLMMasker(microBatch: t.microBatch, sequenceLength: t.seqLen, vocabularySize: config.model.vocabSize,
                                       specials: specials, seed: seed, nextSentence: config.family.nsp)
            masker.maskRate = config.family.maskRate
            let model = try BERT(config: config.bertConfig, maxBatch: t.microBatch, maxSeqLen: t.seqLen)
            model.initializeWeights(seed: seed)
            // Masked-token prediction: each row becomes `[CLS] A [SEP]` (and B with NSP).
            return CorruptedRowsObjective(model, corruption: masker) { bert, m, dropoutSeed in
                bert.dropoutSeed = dropoutSeed
                return try bert.forward(tokens: m.tokens.baseAddress!, segments: m.segments.baseAddress!,
                                        attentionMask: m.attentionMask.baseAddress!, targets: m.targets.baseAddress!,
                                        sequenceLabels: m.nextSentence ? m.nextSentenceLabels.baseAddress! : nil,
                                        B: m.microBatch, T: m.sequenceLength)
            }
        }
    }

    /// The content of `[CLS] A [SEP]` (T − 2, or T − 3 with NSP).
    public static func loaderSequenceLength(_ config: RunConfig) -> Int {
        MLMMasker.contentLength(sequenceLength: config.training.seqLen, nextSentence: config.family.nsp)
    }

    /// 6N + 12·L·C·T, where the tied decoder (V·C) runs only on the chosen rows, a
    /// `training.mask_rate` share of tokens.
    public static func flopsPerToken(_ config: RunConfig, parameters: Int) -> Double {
        let m = config.model
        let attention = 12.0 * Double(m.nLayer * m.dModel * config.training.seqLen)
        let decoder = Double(m.vocabSize * m.dModel)
        return 6.0 * (Double(parameters) - decoder + decoder * config.family.maskRate) + attention
    }

    public static let minimumClassifierSequenceLength = 3

    public static func fineTune(_ run: FineTuneRun, checkpoint: ModelCheckpoint, labels: Int) throws -> FineTuneRun.Result {
        var config = checkpoint.config.bertConfig
        config.nsp = false
        config.numLabels = labels
        let body = try checkpoint.bert(batch: 1, seqLen: 1)
        return try run.tune(FineTuner<BERT>.self, config: config, body: body)
    }

    public static let huggingFaceModelTypes = ["bert"]

    /// `BertForMaskedLM` (`BertForPreTraining` with NSP, `BertForSequenceClassification` with the
    /// label names for a classifier) plus the tokenizer files pipelines need (`BERTTokenizerExport`).
    public static func exportHuggingFace(_ checkpoint: ModelCheckpoint, to out: String) throws -> String {
        let reader = checkpoint.reader, config = checkpoint.config
        return try translatingErrors {
            let model = try BERT(config: config.bertConfig, maxBatch: 1, maxSeqLen: 1)
            try reader.manifest.checkMatches(model.layout, directory: reader.directory)
            try reader.readParameters(into: model.params.buffer)
            let pad = try reader.tokenizerPath.map { try BERTSpecialTokens(tokenizer: HuggingFaceTokenizer.load(from: $0)).pad } ?? 0
            let names = config.family.labelNames.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            try model.exportHuggingFace(to: out, padTokenID: Int(pad), labelNames: names)
            var files = ["model.safetensors", "config.json"]
            if let tokenizer = reader.tokenizerPath {
                files += try BERTTokenizerExport.write(source: tokenizer, to: out, maxLength: config.model.maxSeqLen)
            }
            return " as Hugging Face BERT: \(files.joined(separator: ", "))"
        }
    }

    /// `BertModel` (a fresh MLM head), `BertForMaskedLM`, `BertForPreTraining` (NSP) or
    /// `BertForSequenceClassification` (labels from id2label), sentence-transformers layouts included; post-LN.
    public static func importHuggingFace(_ directory: String, into run: RunConfig) throws -> HuggingFaceImport {
        do {
            let source = try HuggingFaceBERTDirectory(path: directory)
            let bert = source.config
            let model = try BERT(config: bert, maxBatch: 1, maxSeqLen: 1)
            let (fresh, unused) = try source.load(into: model, seed: UInt64(run.training.seed))
            var config = run
            config.family.arch = .bert
            config.family.norm = .post
            config.family.nsp = bert.nsp
            config.family.numLabels = bert.numLabels
            config.family.labelNames = source.labelNames.contains { $0.contains(",") } ? "" : source.labelNames.joined(separator: ",")
            config.family.intermediateSize = bert.intermediateSize
            config.family.typeVocabSize = bert.typeVocabSize
            config.family.objective = .auto
            config.model.vocabSize = bert.vocabSize
            config.model.maxSeqLen = bert.maxSeqLen
            config.model.nLayer = bert.nLayer
            config.model.nHead = bert.nHead
            config.model.dModel = bert.dModel
            config.model.layerNormEps = bert.layerNormEps
            config.training.seqLen = min(config.training.seqLen, bert.maxSeqLen)
            var imported = HuggingFaceImport(
                config: config, table: model.layout, params: model.params,
                summary: "\(source.architecture): vocab \(bert.vocabSize), n_layer \(bert.nLayer), n_head \(bert.nHead), d_model \(bert.dModel), max_seq_len \(bert.maxSeqLen)\(bert.nsp ? ", nsp" : "")\(bert.numLabels > 0 ? ", \(bert.numLabels) labels" : "")")
            imported.fresh = fresh
            imported.unused = unused
            return imported
        } catch let e as ModelError {
            throw TrainingError(e.message)
        }
    }
}
