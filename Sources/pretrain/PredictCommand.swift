import ArgumentParser
import Foundation
import Training
import Support

/// `pretrain predict`: fill [MASK] tokens with a masked-LM checkpoint, classify a text with a
/// fine-tuned one, extract features, or generate text with a T5 or Transformer.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Fill [MASK], classify a text, extract its features, or translate/summarize/generate with a T5 or Transformer checkpoint.",
        discussion: """
        Examples:
          pretrain predict --checkpoint runs/bert/checkpoints --task fill-mask "The [MASK] sat on the mat." --top-k 5
          pretrain predict --checkpoint runs/bert-classify --task classify "Computers are useless."
          pretrain predict --checkpoint minilm --task feature-extraction --pooling mean --normalize --input-file texts.jsonl
          pretrain predict --checkpoint runs/t5-de --task translation "Could not resolve '%s'" --num-beams 4 --num-return-sequences 2
        BERT encodes the text as [CLS] text [SEP] (truncated to model.max_seq_len). fill-mask prints the top-k tokens of each [MASK] with their probabilities; classify (a `pretrain finetune` checkpoint, BERT or GPT) the label and every label's probability; feature-extraction (BERT) the last hidden state as JSON, or one vector with --pooling mean|cls. text2text-generation, translation and summarization (T5, Transformer) put the checkpoint's task prefix first (T5) and decode greedily, with --num-beams beam search, or sampling once --temperature, --top-k or --top-p is given, with Hugging Face generate's meanings. --json, and --input-file (one {"text": …} per line), print one JSON line per text, with Hugging Face pipelines' field names.
        """.helpParagraphs)

    @Option(help: "A step-NNNNNNNN checkpoint directory (BERT; or a fine-tuned GPT for classify), or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "fill-mask, classify, feature-extraction, or (T5, Transformer) text2text-generation, translation, summarization.") var task: String
    @Argument(help: "The text (fill-mask: with one or more [MASK]).") var text: String?
    @Option(help: "The text (instead of the argument).") var input: String?
    @Option(help: "A JSON-lines file of texts, one {\"text\": …} per line.") var inputFile: String?
    @Option(help: "feature-extraction: none (every token), mean or cls.") var pooling: String = "none"
    @Flag(help: "feature-extraction: scale each vector to unit L2 norm.") var normalize = false
    @Flag(help: "Print JSON (one line per text).") var json = false
    @Option(help: "fill-mask: tokens to show per [MASK] (default 5); T5: sample among the K most likely.") var topK: Int?
    @OptionGroup var generation: GenerationOptions
    @Option(help: "T5: task prefix put before each text not starting with it (default: the checkpoint's data.source_prefix, as HF pipelines add config.prefix; '' for none).") var prefix: String?
    @Flag(help: "Print only the output text of each input, no warnings.") var quiet = false
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "A tokenizer.json to use instead of the checkpoint's.") var tokenizer: String?

    func run() throws {
        guard let kind = TextPredictor.Task(rawValue: task) else { throw CLIError("--task \(task) is not a prediction task; use fill-mask, classify, feature-extraction, text2text-generation, translation or summarization") }
        guard let pool = FeaturePooling(rawValue: pooling) else { throw CLIError("--pooling \(pooling) is not a pooling; use none, mean or cls") }
        guard topK ?? 1 >= 1 else { throw CLIError("--top-k \(topK!) must be at least 1") }
        guard threads ?? 1 >= 1 else { throw CLIError("--threads \(threads!) must be at least 1") }
        let given = [text, input].compactMap { $0 }
        guard given.count + (inputFile == nil ? 0 : 1) == 1 else { throw CLIError("give the text once: as the argument, --input TEXT, or --input-file F.jsonl") }
        let texts = try inputFile.map { try TextPredictor.texts(inputFile: $0) } ?? given
        let settings = kind.generates ? try generation.settings(topK: topK) : nil
        Parallel.setThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let predictor = TextPredictor(checkpoint: try ModelCheckpoint.open(checkpoint), tokenizer: tokenizer)
        predictor.pooling = pool
        predictor.normalize = normalize
        if let settings { predictor.generation = settings }
        if let prefix {
            guard kind.generates else { throw CLIError("--prefix applies to generation (text2text-generation, translation, summarization), not --task \(task); drop --prefix") }
            predictor.prefix = prefix
        }
        for text in texts {
            let prediction = try predictor.predict(text, task: kind, topK: topK ?? 5) { if !quiet { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) } }
            print(quiet ? prediction.text : json || inputFile != nil ? prediction.json : prediction.text)
        }
    }
}
