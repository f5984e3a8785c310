import Checkpoint
import Config
import DataPipeline
import Foundation
import Model
import TestSupport
import XCTest

/// A tiny GPT (causal LM) checkpoint written by `pretrain train` (once per test process, as BERT's), and loading
/// a GPT checkpoint (language model or fine-tuned classifier) back into a `GPT` in-test.
enum GPTCheckpointFixtures {
    /// The pretraining directory: the fixture corpus, `tokenizer.json` (bytes + specials 256–260),
    /// `gpt.yaml` and the checkpoint root `ckpt` (10 causal-LM steps).
    static let pretrained: Result<String, Error> = Result { try BERTCheckpointFixtures.pretrain(arch: .gpt) }

    /// A GPT checkpoint loaded in-test, independently of the CLI: its manifest's config, a `GPT` of that
    /// config (num_labels included) for (1, T) holding its parameters, and its tokenizer.
    static func load(_ path: String, seqLen: Int) throws -> (config: RunConfig, model: GPT, tokenizer: Tokenizer, reader: CheckpointReader) {
        let reader = try CheckpointReader(path: path)
        var config = RunConfig()
        try ConfigLoader.apply(yaml: reader.manifest.config, file: "manifest", to: &config)
        var model = config.model
        model.numLabels = config.family.numLabels
        let gpt = try GPT(config: model, maxBatch: 1, maxSeqLen: seqLen)
        try reader.manifest.checkMatches(gpt.layout, directory: path)
        try reader.readParameters(into: gpt.params.buffer)
        gpt.training = false
        let tokenizer = try Tokenizer.load(from: try XCTUnwrap(reader.tokenizerPath))
        return (config, gpt, tokenizer, reader)
    }

    /// The classifier's label probabilities for `text` as fine-tuning reads it: its tokens (the first
    /// `T`), classified on the last one.
    static func classify(_ text: String, _ loaded: (config: RunConfig, model: GPT, tokenizer: Tokenizer, reader: CheckpointReader), T: Int = 16) throws -> [Double] {
        let ids = Array(loaded.tokenizer.encode(text).prefix(T))
        try loaded.model.forward(tokens: ids, lengths: [ids.count], labels: nil, B: 1, T: ids.count)
        return BERTCheckpointFixtures.softmax(loaded.model.sequenceLogits, count: loaded.config.family.numLabels)
    }
}
