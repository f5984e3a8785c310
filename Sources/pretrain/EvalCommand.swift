import ArgumentParser
import Distributed
import Foundation
import Support
import Training

/// `pretrain eval`: validation loss and perplexity of a checkpoint, on one process or under mpirun.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Validation loss and perplexity of a checkpoint; a T5's on pairs, with BLEU and chrF (run under mpirun to split the work).",
        discussion: """
        Examples:
          pretrain eval --checkpoint runs/tiny/checkpoints
          mpirun -n 2 pretrain eval --checkpoint runs/tiny/checkpoints --data 'data/fortunes/val_*.bin'
        Reads the data in rounds of ranks × micro-batch sequences (in order, no shuffling); each rank
        evaluates its slice of every round and the token-weighted sums are reduced, so any rank count
        gives the same loss over the same rounds. By default every complete round of the split is
        evaluated; --batches N stops after N rounds. The loss is the mean cross-entropy per target token
        (nats); perplexity = exp(loss). The evaluation during training reads only the first
        training.eval_steps rounds, so its loss differs from this one; its line names the
        `pretrain eval --batches N --micro-batch M` that repeats it.
        """.helpParagraphs)

    @Option(help: "A step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "Token shards to evaluate on (default: the run's data.val).") var data: String?
    @Option(help: "Rounds to evaluate (default: all complete rounds of the split).") var batches: Int?
    @Option(help: "Sequences per rank per round (default: the run's training.micro_batch).") var microBatch: Int?
    @Option(help: "Compute threads per rank (default: cores ÷ ranks on the host).") var threads: Int?
    @Flag(help: "T5 or Transformer on pairs (--data PAIRS.jsonl): also generate (greedy, or --num-beams) and score BLEU and chrF (sacreBLEU's).") var generate = false
    @Option(help: "Encoder-decoders: new tokens per output at most (--generate).") var maxNewTokens = 64
    @Option(help: "Encoder-decoders: beam search with N beams (--generate; 1 = greedy).") var numBeams = 1
    @Option(help: "Beams: rank finished ones by sum of log-probs / length^P.") var lengthPenalty = 1.0
    @Option(help: "Beams: true (stop when N are finished), false (heuristic) or never.") var earlyStopping = "false"
    @Option(help: "Encoder-decoders: the source and target JSON fields of --data.") var fields = "source,target"
    @Option(help: "T5: task prefix before each source (default: the checkpoint's data.source_prefix).") var prefix: String?

    func run() throws { try runUnderMPI(evaluate) }

    func evaluate(comm: any Communicator) throws {
        if let batches, batches < 1 { throw CLIError("--batches \(batches) must be at least 1") }
        if let microBatch, microBatch < 1 { throw CLIError("--micro-batch \(microBatch) must be at least 1") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let n = threads ?? max(1, cores / max(1, comm.localSize))
        guard n >= 1 else { throw CLIError("--threads \(n) must be at least 1") }
        Parallel.setThreads(n)
        let loaded = try ModelCheckpoint.open(checkpoint)
        if loaded.architecture == .t5 || loaded.architecture == .transformer {  // pairs: loss, and BLEU/chrF with --generate
            var s = Seq2SeqEvaluation.Settings()
            (s.prefix, s.microBatch, s.generate, s.maxNewTokens) = (prefix, microBatch, generate, maxNewTokens)
            (s.numBeams, s.lengthPenalty, s.earlyStopping) = (numBeams, lengthPenalty, earlyStopping)
            let text = try Seq2SeqEvaluation.report(loaded, data: data, fields: fields, settings: s, comm: comm)
            return comm.rank == 0 ? print(text) : ()
        }
        let result = try CheckpointEvaluation.run(loaded, data: data, rounds: batches, microBatch: microBatch, comm: comm)
        if comm.rank == 0 {
            print(String(format: "val loss %.6f | perplexity %.4f | %d tokens in %@ %d round(s) × %d rank(s) × %d sequences of %d of %@ | checkpoint step %d (%@)",
                         result.loss, result.perplexity, result.tokens, batches == nil ? "all" : "the first", result.rounds, result.ranks, result.microBatch,
                         result.sequenceLength, data ?? loaded.config.data.val, loaded.reader.manifest.step, loaded.reader.directory))
        }
    }
}
