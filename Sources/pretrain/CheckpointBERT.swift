import Checkpoint
import Config
import DataPipeline
import Foundation
import Model

/// A BERT checkpoint (masked LM or fine-tuned classifier) opened for inference or fine-tuning: its
/// resolved config, its parameters in a `BERT` built for (batch, seqLen), and its tokenizer.
struct CheckpointBERT {
    let reader: CheckpointReader
    let config: RunConfig
    let model: BERT

    /// Opens `path` (a step-NNNNNNNN directory or a checkpoint root); `notBERT` is the one-line error
    /// for a GPT checkpoint (it receives the directory).
    init(path: String, batch: Int, seqLen: Int, notBERT: (String) -> String) throws {
        (reader, config) = try CheckpointModel.open(path: path)
        guard config.family.arch == "bert" else { throw CLIError(notBERT(reader.directory)) }
        let bert = config.bertConfig
        model = try CheckpointModel.load(reader) { try BERT(config: bert, maxBatch: batch, maxSeqLen: seqLen) }
        model.training = false
    }

    /// The tokenizer (`explicit`, else the checkpoint's, else the run's data.tokenizer) and its BERT
    /// special ids; a tokenizer without [CLS]/[SEP]/[MASK] is a one-line error.
    func tokenizer(explicit: String?) throws -> (Tokenizer, BERTSpecialTokens) {
        try Self.tokenizerOf(reader: reader, config: config, explicit: explicit)
    }

    /// The tokenizer and special ids of an opened checkpoint (see `tokenizer(explicit:)`).
    static func tokenizerOf(reader: CheckpointReader, config: RunConfig, explicit: String?) throws -> (Tokenizer, BERTSpecialTokens) {
        let tokenizer = try CheckpointModel.tokenizer(explicit: explicit, reader: reader, config: config)
        do {
            return (tokenizer, try BERTSpecialTokens(tokenizer: tokenizer))
        } catch let error as DataError {
            throw CLIError("\(error)")
        }
    }
}
