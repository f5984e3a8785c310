import Checkpoint
import Config
import DataPipeline
import Foundation
import Model
import TestSupport
import XCTest
import Support

/// A tiny BERT masked-LM checkpoint written by `pretrain train` (once per test process), a labelled
/// task whose label is decidable from the text, and loading a checkpoint back into a `BERT` in-test.
enum BERTCheckpointFixtures {
    /// The pretraining directories made (BERT's and GPT's); removed when the test process exits.
    nonisolated(unsafe) static var directories: [String] = []

    /// A fixture that could not be built.
    struct Failure: Error { let message: String }

    /// The pretraining directory: the fixture corpus, `tokenizer.json` (bytes + specials 256–260),
    /// `bert.yaml` and the checkpoint root `ckpt` (10 MLM steps).
    static let pretrained: Result<String, Error> = Result { try pretrain(arch: .bert) }

    /// Writes the fixture corpus, the byte tokenizer and `ARCH.yaml` (a 2-layer, d_model 32 model of
    /// `arch`) into a fresh directory and runs `pretrain train` for 10 steps into its `ckpt`.
    static func pretrain(arch: Architecture) throws -> String {
        let dir = try TrainingFixtures.corpus()
        directories.append(dir)
        atexit { for dir in BERTCheckpointFixtures.directories { try? FileManager.default.removeItem(atPath: dir) } }
        let bytes = (0..<256).map { [UInt8($0)] as [UInt8]? }
        let added = AddedToken.defaultSpecials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        try Tokenizer(tokens: bytes, merges: [], addedTokens: added).save(to: dir + "/tokenizer.json")
        var c = TrainingFixtures.config(data: dir, processes: 1, microBatch: 4, accumulation: 1, steps: 10,
                                        model: GPTConfig(vocabSize: 261, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32))
        c.family.arch = arch
        c.model.layerNormEps = 1e-5
        c.data.tokenizer = dir + "/tokenizer.json"
        c.checkpoint.dir = dir + "/ckpt"
        c.logging.runDir = dir + "/run"
        try ConfigLoader.render(c).write(toFile: dir + "/\(arch.rawValue).yaml", atomically: true, encoding: .utf8)
        let run = try ProcessRunner.pretrain(["train", "--config", dir + "/\(arch.rawValue).yaml", "--quiet", "--set", "threads_per_process=1"])
        guard run.status == 0 else { throw Failure(message: "pretrain train failed: \(run.output)") }
        return dir
    }

    /// Writes `count` JSON lines of random letters from one of three alphabets, labelled by the alphabet
    /// ("early", "late", "digits"); returns the path.
    static func task(_ dir: String, name: String, count: Int, seed: UInt64) throws -> String {
        var rng = SplitMix64(seed: seed)
        let alphabets = [Array("abcdefgh"), Array("pqrstuvw"), Array("01234567")]
        let names = ["early", "late", "digits"]
        var lines: [String] = []
        for _ in 0..<count {
            let label = Int(rng.next() % 3)
            let length = 4 + Int(rng.next() % 9)
            let text = String((0..<length).map { _ in alphabets[label][Int(rng.next() % 8)] })
            lines.append("{\"text\": \"\(text)\", \"label\": \"\(names[label])\"}")
        }
        let path = dir + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A checkpoint loaded in-test, independently of the CLI: its manifest's config, a `BERT` of that
    /// config for (1, T) holding its parameters, and its tokenizer.
    static func load(_ path: String, seqLen: Int) throws -> (config: RunConfig, model: BERT, tokenizer: Tokenizer, reader: CheckpointReader) {
        let reader = try CheckpointReader(path: path)
        var config = RunConfig()
        try ConfigLoader.apply(yaml: reader.manifest.config, file: "manifest", to: &config)
        let model = try BERT(config: config.bertConfig, maxBatch: 1, maxSeqLen: seqLen)
        try reader.readParameters(into: model.params.buffer)
        model.training = false
        let tokenizer = try Tokenizer.load(from: try XCTUnwrap(reader.tokenizerPath))
        return (config, model, tokenizer, reader)
    }

    /// The ids `[CLS] text [SEP]` as the model sees them.
    static func encode(_ text: String, _ tokenizer: Tokenizer) throws -> [Int32] {
        let specials = try BERTSpecialTokens(tokenizer: tokenizer)
        return [specials.cls] + tokenizer.encode(text) + [specials.sep]
    }

    /// A numerically careful softmax in double precision: p_i = exp(x_i − logsumexp(x)).
    static func softmax(_ logits: UnsafePointer<Float>, count: Int) -> [Double] {
        let x = (0..<count).map { Double(logits[$0]) }
        let top = x.max()!
        let logSum = top + log(x.reduce(0) { $0 + exp($1 - top) })
        return x.map { exp($0 - logSum) }
    }
}
