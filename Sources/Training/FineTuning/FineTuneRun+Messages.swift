import Foundation

extension FineTuneRun.Event {
    /// The line `pretrain finetune` prints for the event.
    public var message: String {
        switch self {
        case let .loaded(directory, step, loaded, fresh, frozen):
            let head = fresh.isEmpty ? "none (the checkpoint already has this head)" : fresh.joined(separator: ", ")
            return "loaded \(loaded) tensors from \(directory) (step \(step)); new head: \(head)\(frozen ? " (body frozen)" : "")"
        case let .training(steps, ranks, microBatch, tokens, examples, names):
            return "training \(steps) steps × \(ranks) rank(s) × \(microBatch) examples of \(tokens) tokens on \(examples) examples, "
                + "\(names.count) labels (\(names.joined(separator: ", ")))"
        case let .resumed(directory, step):
            return "resumed from \(directory): continuing after step \(step)"
        case let .baseline(label, accuracy, onTest):
            return String(format: "majority-class baseline: always answering '%@' scores %.4f on the %@ set", label, accuracy, onTest ? "test" : "training")
        case let .progress(step, steps, loss, test):
            var line = String(format: "step %d/%d: train loss %.4f", step, steps, loss)
            if let test { line += String(format: ", test loss %.4f, test accuracy %.4f", test.loss, test.accuracy) }
            return line
        case let .trained(first, last, window, seconds):
            return String(format: "loss %.4f (first %d steps) → %.4f (last %d) in %.1f s", first, window, last, window, seconds)
        case let .saved(directory, step, signal):
            guard signal != 0 else { return "saved \(directory)" }
            return PreemptionFlag.story(signal: signal, step: step, path: directory, resume: "the same command and --resume")
        case let .accuracy(accuracy, loss, examples, labels, baseline, majority):
            var line = String(format: "test accuracy %.4f (%d examples, %d labels; loss %.4f); majority-class baseline %.4f (always '%@')",
                              accuracy, examples, labels, loss, baseline, majority)
            if accuracy <= baseline { line += ": no better than the baseline; train longer (--steps), change --lr, or check the labels" }
            return line
        case let .seq2seqTraining(steps, ranks, accumulation, microBatch, sourceLength, targetLength, pairs, prefix):
            return "training \(steps) steps × \(ranks) rank(s) × \(accumulation) × \(microBatch) pairs (source ≤ \(sourceLength), target ≤ \(targetLength) tokens with EOS) on \(pairs) pairs"
                + (prefix.isEmpty ? "" : ", prefix '\(prefix)'")
        case let .truncated(count, total, file, sourceLength, targetLength):
            return "notice: \(count) of \(total) pairs of \(file) are longer than --seq-len \(sourceLength) or --target-len \(targetLength) tokens with EOS and were truncated (--too-long refuse stops instead)"
        case let .seq2seqProgress(step, steps, loss, test):
            var line = String(format: "step %d/%d: train loss %.4f", step, steps, loss)
            if let test { line += String(format: ", test loss %.4f, test token accuracy %.4f", test.loss, test.accuracy) }
            return line
        case let .seq2seqTest(loss, tokenAccuracy, pairs, tokens):
            return String(format: "test loss %.4f per target token, token accuracy %.4f (%d pairs, %d target tokens; `pretrain eval --generate` scores BLEU and chrF)",
                          loss, tokenAccuracy, pairs, tokens)
        }
    }
}
