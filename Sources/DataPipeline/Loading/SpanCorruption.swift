import Support

/// T5's span-corruption objective: drops random spans of a token window, puts a sentinel where each
/// span was, and asks the decoder for the sentinels followed by the dropped spans (Raffel et al. §3.1.4,
/// Hugging Face's `DataCollatorForT5MLM`).
///
/// Shapes: B micro-batch, L tokens read per row (`tokensLength`), S encoder inputs per row
/// (`inputsLength`), T targets per row (`targetsLength`). Outputs are owned buffers refilled in place by
/// `build`: `inputs` and `inputMask` (B, S) (1 = token, 0 = padding), `targets` (B, T) (`ignoreIndex`
/// after the end) and `decoderInputs` (B, T) (the targets shifted right after the pad start token).
///
/// **Algorithm** (`random_spans_noise_mask`): of L tokens, round(L·density) are noise (at least 1,
/// at most L − 1), in round(min(noise, non-noise) / meanSpan) spans (at least 1). The noise tokens and
/// the non-noise tokens are each cut into that many non-empty segments by a uniformly random choice of
/// cut points, and the row alternates non-noise, noise, non-noise, …, always starting with non-noise.
/// Inputs: each non-noise segment followed by the sentinel of the next span, then EOS. Targets: each
/// span's sentinel followed by its tokens, then EOS. `lengths(inputsLength:…)` is Hugging Face's
/// `compute_input_and_target_lengths`: the longest L whose inputs fit in S.
///
/// **Determinism.** The cut points come from a Fisher–Yates shuffle whose draws are a counter-based hash
/// of (seed, the row's index in the global data stream, purpose, position), as `MLMMasker`'s: N ranks
/// build the same rows as 1 rank, and a resumed run repeats them.
public final class SpanCorruption {
    /// Sequences per batch (B).
    public let microBatch: Int
    /// L: tokens of raw text one row consumes.
    public let tokensLength: Int
    /// S: encoder inputs per row; T: targets per row.
    public let inputsLength: Int, targetsLength: Int
    /// Noise tokens and spans of a full row of L tokens.
    public let noiseTokens: Int, noiseSpans: Int
    public let specials: T5SpecialTokens
    public let seed: UInt64
    /// Target of padding positions.
    public var ignoreIndex: Int32 = -100
    /// The built batch: (B, S) encoder inputs, (B, T) targets and decoder inputs (targets shifted right
    /// after the start token), and the (B, S) encoder padding mask (1 = real token).
    public let inputs, targets, decoderInputs: UnsafeMutableBufferPointer<Int32>
    public let inputMask: UnsafeMutableBufferPointer<UInt8>
    /// Scratch: the noise mask and the shuffle of one row.
    private let noise: UnsafeMutableBufferPointer<Bool>, order: UnsafeMutableBufferPointer<Int>

    /// Hugging Face's `compute_input_and_target_lengths`: the raw tokens per row L whose corrupted inputs
    /// hold at most `inputsLength` tokens, and the targets' length T.
    public static func lengths(inputsLength: Int, noiseDensity: Double, meanSpanLength: Double) -> (tokens: Int, targets: Int) {
        func split(_ n: Int) -> (inputs: Int, targets: Int) {
            let noise = Int((Double(n) * noiseDensity).rounded(.toNearestOrEven))
            let spans = Int((Double(noise) / meanSpanLength).rounded(.toNearestOrEven))
            return (n - noise + spans + 1, noise + spans + 1)
        }
        var n = inputsLength
        while split(n + 1).inputs <= inputsLength { n += 1 }
        var targets = split(n).targets
        if noiseDensity == 0.5, targets > split(n).inputs { n -= 1; targets -= 1 }
        return (n, targets)
    }

    /// (noise tokens, spans) of a row of `length` tokens, clamped as `random_spans_noise_mask` clamps.
    public static func counts(length: Int, noiseDensity: Double, meanSpanLength: Double) -> (noise: Int, spans: Int) {
        let rawNoise = Int((Double(length) * noiseDensity).rounded(.toNearestOrEven))
        let noise = min(max(rawNoise, 1), length - 1)
        let spans = Int((Double(min(noise, length - rawNoise)) / meanSpanLength).rounded(.toNearestOrEven))
        return (noise, max(spans, 1))
    }

    /// Span corruption for rows whose inputs hold `inputsLength` tokens; throws a one-line `DataError`
    /// for settings that leave nothing to corrupt or more spans than the tokenizer has sentinels.
    public init(microBatch: Int, inputsLength: Int, noiseDensity: Double = 0.15, meanSpanLength: Double = 3,
                specials: T5SpecialTokens, seed: UInt64) throws {
        guard noiseDensity > 0, noiseDensity < 1 else {
            throw DataError.invalidSetting(name: "training.noise_density", problem: "is \(noiseDensity); it must be in (0, 1)")
        }
        guard meanSpanLength >= 1 else {
            throw DataError.invalidSetting(name: "training.mean_noise_span_length", problem: "is \(meanSpanLength); it must be at least 1")
        }
        let (L, _) = Self.lengths(inputsLength: inputsLength, noiseDensity: noiseDensity, meanSpanLength: meanSpanLength)
        guard L >= 2, microBatch >= 1 else {
            throw DataError.invalidSetting(name: "training.seq_len", problem: "is \(inputsLength); span corruption needs room for a kept token, a sentinel and EOS (use at least 4)")
        }
        (noiseTokens, noiseSpans) = Self.counts(length: L, noiseDensity: noiseDensity, meanSpanLength: meanSpanLength)
        guard noiseSpans <= specials.sentinels.count else {
            throw DataError.invalidSetting(name: "training.seq_len", problem: "is \(inputsLength): its rows have \(noiseSpans) noise spans but the tokenizer has \(specials.sentinels.count) sentinels; prepare the data with more --extra-ids or lower seq_len")
        }
        self.microBatch = microBatch
        tokensLength = L
        self.inputsLength = L - noiseTokens + noiseSpans + 1
        targetsLength = noiseTokens + noiseSpans + 1
        self.specials = specials
        self.seed = seed
        inputs = .allocate(capacity: microBatch * self.inputsLength); inputs.initialize(repeating: specials.pad)
        inputMask = .allocate(capacity: microBatch * self.inputsLength); inputMask.initialize(repeating: 0)
        targets = .allocate(capacity: microBatch * targetsLength); targets.initialize(repeating: -100)
        decoderInputs = .allocate(capacity: microBatch * targetsLength); decoderInputs.initialize(repeating: specials.pad)
        noise = .allocate(capacity: L); noise.initialize(repeating: false)
        order = .allocate(capacity: L + 1); order.initialize(repeating: 0)
    }

    deinit {
        inputs.deallocate(); inputMask.deallocate(); targets.deallocate(); decoderInputs.deallocate()
        noise.deallocate(); order.deallocate()
    }

    /// Builds the batch from `content` (B, contentLength) row-major, each row's first `tokensLength`
    /// tokens; `firstSequence` is the global stream index of row 0.
    public func build(content: UnsafePointer<Int32>, contentLength: Int, firstSequence: UInt64) {
        precondition(contentLength >= tokensLength, "rows of \(contentLength) tokens are shorter than \(tokensLength)")
        let S = inputsLength, T = targetsLength
        for b in 0..<microBatch {
            noiseMask(into: noise.baseAddress!, key: firstSequence &+ UInt64(b))
            let (s, t) = Self.corrupt(tokens: content + b * contentLength, noise: noise.baseAddress!, count: tokensLength,
                                      specials: specials, inputs: inputs.baseAddress! + b * S, targets: targets.baseAddress! + b * T)
            for i in 0..<S { inputMask[b * S + i] = i < s ? 1 : 0; if i >= s { inputs[b * S + i] = specials.pad } }
            for i in t..<T { targets[b * T + i] = ignoreIndex }
            decoderInputs[b * T] = specials.pad
            for i in 1..<max(1, T) { let y = targets[b * T + i - 1]; decoderInputs[b * T + i] = y == ignoreIndex ? specials.pad : y }
        }
    }

    /// Writes the noise mask of a full row (`tokensLength`) for the row with stream index `key`.
    public func noiseMask(into mask: UnsafeMutablePointer<Bool>, key: UInt64) {
        let L = tokensLength, spans = noiseSpans, kept = L - noiseTokens
        let keptCuts = cutPoints(items: kept, segments: spans, key: key, purpose: 0, into: order.baseAddress!)
        let noiseCuts = cutPoints(items: noiseTokens, segments: spans, key: key, purpose: 1, into: order.baseAddress! + kept)
        // Non-noise segment k, then noise segment k, for k = 0..<spans.
        var position = 0
        func segment(_ span: Int, _ cuts: UnsafeMutablePointer<Int>, _ items: Int, _ isNoise: Bool) {
            let start = span == 0 ? 0 : cuts[span - 1] + 1, end = span == spans - 1 ? items : cuts[span] + 1
            for i in position..<(position + end - start) { mask[i] = isNoise }
            position += end - start
        }
        for span in 0..<spans {
            segment(span, keptCuts, kept, false)
            segment(span, noiseCuts, noiseTokens, true)
        }
        precondition(position == L, "span lengths do not add up")
    }

    /// Cuts `items` into `segments` non-empty pieces (HF's `_random_segmentation`): `segments` − 1 of the
    /// `items` − 1 gaps (gap g after item g) chosen uniformly by a partial Fisher–Yates shuffle whose
    /// draws depend only on (seed, key, purpose). Returns the chosen gaps, sorted, at the front of `scratch`.
    private func cutPoints(items: Int, segments: Int, key: UInt64, purpose: UInt64,
                           into scratch: UnsafeMutablePointer<Int> /* (items) */) -> UnsafeMutablePointer<Int> {
        let gaps = items - 1, cuts = segments - 1
        for g in 0..<max(0, gaps) { scratch[g] = g }
        var a = SplitMix64(seed: seed ^ 0x5EED_5A17_C0DE_0001), b = SplitMix64(seed: a.next() ^ key)
        var rng = SplitMix64(seed: b.next() ^ purpose)
        for i in 0..<cuts {
            let j = i + Int(rng.next(below: UInt64(gaps - i)))
            (scratch[i], scratch[j]) = (scratch[j], scratch[i])
        }
        var sorted = UnsafeMutableBufferPointer(start: scratch, count: cuts)
        sorted.sort()
        return scratch
    }

    /// Hugging Face's `filter_input_ids` on one row: inputs are the kept tokens with the sentinel of
    /// each noise span in its place, then EOS; targets are each span's sentinel and tokens, then EOS.
    /// Returns how many inputs and targets were written.
    public static func corrupt(tokens: UnsafePointer<Int32>, noise: UnsafePointer<Bool>, count: Int, specials: T5SpecialTokens,
                               inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>) -> (inputs: Int, targets: Int) {
        var s = 0, t = 0, inputSpans = 0, targetSpans = 0
        for i in 0..<count {
            let starts = i == 0 || noise[i] != noise[i - 1]
            if noise[i] {
                if starts { inputs[s] = specials.sentinels[inputSpans]; s += 1; inputSpans += 1 }
                targets[t] = tokens[i]; t += 1
            } else {
                if starts { targets[t] = specials.sentinels[targetSpans]; t += 1; targetSpans += 1 }
                inputs[s] = tokens[i]; s += 1
            }
        }
        inputs[s] = specials.eos
        targets[t] = specials.eos
        return (s + 1, t + 1)
    }
}
