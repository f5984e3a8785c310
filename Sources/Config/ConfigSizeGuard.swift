import Foundation

extension ConfigLoader {
    /// The most memory a rank's plan may name: 1 PiB. Far beyond any machine, and small enough that
    /// every size derived from the config (tensor element counts, byte counts, their sums) fits in an
    /// `Int` without overflow.
    static let sizeCeiling = Double(1 << 50)

    /// Refuses sizes no machine has before any exact arithmetic on them, in one line naming the keys.
    ///
    /// Each estimate over-counts (a few floats per parameter and per activation element), so when it
    /// passes, the exact products computed later (layouts, the memory plan, the loader) cannot
    /// overflow. The memory plan then compares the exact figure with what the rank can use.
    static func checkSizes(_ config: RunConfig, origin: String) throws {
        let m = config.model, t = config.training, f = config.family
        let V = Double(m.vocabSize), C = Double(m.dModel), P = Double(m.maxSeqLen), L = Double(m.nLayer)
        let NH = Double(m.nHead), I = Double(f.intermediateSize > 0 ? f.intermediateSize : 4 * m.dModel)
        let B = Double(t.microBatch), T = Double(t.seqLen), K = Double(f.numLabels)
        // Parameters, gradients and two AdamW moments: 16 bytes each.
        let parameters = V * C + P * C + 2 * C + K * C + L * (4 * C * C + 3 * C * I + 12 * C + I)
        // Per position: the logits row, each layer's activations and attention rows, a margin of 4×.
        let activations = 4 * 4 * B * T * (V + L * (16 * C + 4 * I + 3 * NH * T))
        let estimate = 16 * parameters + activations
        guard estimate > sizeCeiling || !estimate.isFinite else { return }
        let (key, value, lever): (String, Int, String) = 16 * parameters >= activations
            ? (V * C >= L * C * (C + I) ? ("model.vocab_size", m.vocabSize, "model.vocab_size or model.d_model")
                                         : ("model.d_model", m.dModel, "model.d_model or model.n_layer"))
            : ("training.micro_batch", t.microBatch, "training.micro_batch or training.seq_len")
        throw ConfigError("\(origin): \(key) \(value) makes a model that needs about \(petabytes(estimate)) of memory per rank, "
                          + "more than any machine has; lower \(lever)")
    }

    /// "3.5 PB", "2,270 PB": a size far beyond memory, said plainly (three significant digits).
    private static func petabytes(_ bytes: Double) -> String {
        let pb = bytes / 1e15
        guard pb.isFinite, pb < 1e15 else { return "an unbounded amount" }
        if pb < 100 { return String(format: "%.3g PB", pb) }
        let magnitude = pow(10, floor(log10(pb)) - 2)
        let digits = String(Int((pb / magnitude).rounded()) * Int(magnitude))
        var grouped = ""
        for (i, c) in digits.enumerated() { if i > 0, (digits.count - i) % 3 == 0 { grouped += "," }; grouped.append(c) }
        return grouped + " PB"
    }
}
