import Support

/// Builds masked-LM batches from token windows: `[CLS] A [SEP]` (or `[CLS] A [SEP] B [SEP]` with
/// segment ids for next-sentence prediction), padding, and BERT's dynamic 80/10/10 masking.
///
/// Shapes: B micro-batch, T sequence length, Tc content tokens per row (`contentLength`).
/// Outputs are owned (B, T) buffers refilled in place by `build`: `tokens`, `segments` (0 for
/// `[CLS] A [SEP]`, 1 for `B [SEP]`), `attentionMask` (1 = token, 0 = padding), `targets` (the original
/// id where a token was chosen, `ignoreIndex` elsewhere) and, with NSP, `nextSentenceLabels` (B), in
/// Hugging Face's convention: 0 = B continues A, 1 = B is random.
///
/// **Masking.** Each non-special position is chosen with probability `maskRate` (15 %); a chosen token
/// becomes `[MASK]` with probability 80 %, a random non-special token 10 %, and stays 10 %. Special
/// tokens ([CLS], [SEP], [PAD], [MASK] and `others` such as `<|endoftext|>`) are never chosen. A row
/// whose draws choose nothing gets its lowest-drawn eligible token chosen, so every row has a target.
///
/// **Determinism.** Every draw is a counter-based hash of (seed, sequence key, position, purpose): no
/// generator state is carried between calls. The key of row b is `firstSequence + b`, where
/// `firstSequence` is the row's index in the global data stream (for `DistributedDataLoader`:
/// `position.sequencesRead + rank·microBatch`, read before `next()`). So the same sequence gets the
/// same mask however many ranks read it, a resumed run repeats the masks of an uninterrupted one, and
/// the same sample gets a new mask each epoch (its stream index differs).
///
/// **NSP.** A takes the first ⌊(T−3)/2⌋ content tokens, B the next ones. For half of the rows (by hash)
/// B is taken instead from another row of the same micro-batch (label 1), so NSP needs B ≥ 2.
public final class MLMMasker {
    /// Sequences per batch (B).
    public let microBatch: Int
    /// Tokens per built sequence (T).
    public let sequenceLength: Int
    /// Random replacements are drawn from [0, vocabularySize) minus the specials.
    public let vocabularySize: Int
    /// The special-token ids.
    public let specials: BERTSpecialTokens
    /// The masking seed.
    public let seed: UInt64
    /// Whether sequences are A/B pairs with next-sentence labels.
    public let nextSentence: Bool
    /// Share of non-special tokens chosen (0.15); 0 turns masking off (fine-tuning inputs).
    public var maskRate = 0.15
    /// Of the chosen: share replaced by [MASK] (0.8) and by a random token (0.1); the rest stay.
    public var maskTokenRate = 0.8, randomTokenRate = 0.1
    /// Target of unchosen positions.
    public var ignoreIndex: Int32 = -100
    /// The built (B, T) batch: tokens, segment ids, targets, and the attention mask (1 = real token).
    public let tokens, segments, targets: UnsafeMutableBufferPointer<Int32>
    public let attentionMask: UnsafeMutableBufferPointer<UInt8>
    /// (B) next-sentence labels (0 = continues, 1 = random); all `ignoreIndex` without NSP.
    public let nextSentenceLabels: UnsafeMutableBufferPointer<Int32>
    /// Positions chosen in the last `build`.
    public private(set) var chosenCount = 0

    private let isSpecial: [Bool]

    /// Content tokens one row consumes: T − 2 (`[CLS] A [SEP]`) or T − 3 (`[CLS] A [SEP] B [SEP]`).
    public static func contentLength(sequenceLength: Int, nextSentence: Bool) -> Int {
        sequenceLength - (nextSentence ? 3 : 2)
    }

    /// A masker for (microBatch, sequenceLength) batches; throws a one-line `DataError` for shapes that
    /// cannot hold the special tokens or a vocabulary with nothing to draw from.
    public init(microBatch: Int, sequenceLength: Int, vocabularySize: Int, specials: BERTSpecialTokens,
                seed: UInt64, nextSentence: Bool = false) throws {
        guard microBatch >= (nextSentence ? 2 : 1) else {
            throw DataError.invalidSetting(name: "training.micro_batch", problem: "is \(microBatch); next-sentence prediction draws random B segments from other rows of the micro-batch, so it needs at least 2")
        }
        let minimum = nextSentence ? 5 : 3
        guard sequenceLength >= minimum else {
            throw DataError.invalidSetting(name: "training.seq_len", problem: "is \(sequenceLength); a masked-LM sequence needs at least \(minimum) tokens ([CLS], [SEP]\(nextSentence ? " twice" : "") and content)")
        }
        let ids = specials.all
        guard vocabularySize > 0, ids.allSatisfy({ $0 >= 0 && Int($0) < vocabularySize }), Set(ids).count < vocabularySize else {
            throw DataError.invalidSetting(name: "model.vocab_size", problem: "\(vocabularySize) does not hold the special tokens \(ids) plus ordinary tokens; use the tokenizer's vocabulary size")
        }
        self.microBatch = microBatch
        self.sequenceLength = sequenceLength
        self.vocabularySize = vocabularySize
        self.specials = specials
        self.seed = seed
        self.nextSentence = nextSentence
        var special = [Bool](repeating: false, count: vocabularySize)
        for id in ids { special[Int(id)] = true }
        isSpecial = special
        let n = microBatch * sequenceLength
        tokens = .allocate(capacity: n); tokens.initialize(repeating: 0)
        segments = .allocate(capacity: n); segments.initialize(repeating: 0)
        attentionMask = .allocate(capacity: n); attentionMask.initialize(repeating: 0)
        targets = .allocate(capacity: n); targets.initialize(repeating: -100)
        nextSentenceLabels = .allocate(capacity: microBatch); nextSentenceLabels.initialize(repeating: -100)
    }

    deinit {
        tokens.deallocate(); segments.deallocate(); attentionMask.deallocate()
        targets.deallocate(); nextSentenceLabels.deallocate()
    }

    /// Purposes of the hash draws, so the draws of one position are independent.
    private enum Draw: UInt64 { case choose = 1, kind, replacement, nextSentence, partner }

    /// A uniform 64-bit value for (seed, key, position, purpose, attempt): SplitMix64's finaliser over a
    /// fold of the inputs, with no state carried between calls.
    @inline(__always)
    private func hash(_ key: UInt64, _ position: Int, _ draw: Draw, _ attempt: UInt64 = 0) -> UInt64 {
        let salt: UInt64 = 0x6A09_E667_F3BC_C908
        var h = Self.mix(seed ^ Self.mix(key &+ salt))
        h = Self.mix(h ^ Self.mix(UInt64(truncatingIfNeeded: position) &+ salt))
        return Self.mix(h ^ Self.mix((draw.rawValue << 32 | attempt) &+ salt))
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) from a hash.
    @inline(__always)
    private static func unit(_ h: UInt64) -> Double { Double(h >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Whether `token` is one of the specials (ids outside the vocabulary count as ordinary).
    @inline(__always)
    public func isSpecialToken(_ token: Int32) -> Bool { token >= 0 && Int(token) < isSpecial.count && isSpecial[Int(token)] }

    /// Builds the batch from `content` (B, contentLength) row-major: each row's first tokens fill its
    /// sequence (contentLength may be longer than a row can hold; the rest is dropped). `lengths` (B),
    /// when given, says how many of a row's tokens are real (the rest of that row is padded).
    /// `firstSequence` is the global stream index of row 0 (see the type's documentation).
    public func build(content: UnsafePointer<Int32>, contentLength: Int, lengths: UnsafePointer<Int>? = nil, firstSequence: UInt64) {
        let T = sequenceLength
        let capacity = Self.contentLength(sequenceLength: T, nextSentence: nextSentence)
        chosenCount = 0
        for b in 0..<microBatch {
            let key = firstSequence &+ UInt64(b)
            let row = content + b * contentLength
            let available = min(capacity, contentLength, lengths.map { max(0, $0[b]) } ?? contentLength)
            let tok = tokens.baseAddress! + b * T, seg = segments.baseAddress! + b * T
            var t = 0
            func put(_ id: Int32, _ segment: Int32) { tok[t] = id; seg[t] = segment; t += 1 }
            put(specials.cls, 0)
            if nextSentence {
                let la = available / 2, lb = available - la
                for i in 0..<la { put(row[i], 0) }
                put(specials.sep, 0)
                var partner = b
                var label: Int32 = 0
                if hash(key, 0, .nextSentence) & 1 == 1 {
                    let offset = 1 + Int(hash(key, 0, .partner) % UInt64(microBatch - 1))
                    partner = (b + offset) % microBatch
                    label = 1
                }
                let source = content + partner * contentLength
                let partnerAvailable = min(capacity, contentLength, lengths.map { max(0, $0[partner]) } ?? contentLength)
                let take = max(0, min(lb, partnerAvailable - la))
                for i in 0..<take { put(source[la + i], 1) }
                put(specials.sep, 1)
                nextSentenceLabels[b] = label
            } else {
                for i in 0..<available { put(row[i], 0) }
                put(specials.sep, 0)
                nextSentenceLabels[b] = ignoreIndex
            }
            let used = t
            for i in 0..<used { attentionMask[b * T + i] = 1 }
            while t < T { tok[t] = specials.pad; seg[t] = 0; attentionMask[b * T + t] = 0; t += 1 }
            let tg = targets.baseAddress! + b * T
            func choose(_ i: Int) {
                tg[i] = tok[i]
                chosenCount += 1
                let kind = Self.unit(hash(key, i, .kind))
                if kind < maskTokenRate {
                    tok[i] = specials.mask
                } else if kind < maskTokenRate + randomTokenRate {
                    var attempt: UInt64 = 0
                    var r = Int32(truncatingIfNeeded: hash(key, i, .replacement) % UInt64(vocabularySize))
                    while isSpecialToken(r) {
                        attempt += 1
                        r = Int32(truncatingIfNeeded: hash(key, i, .replacement, attempt) % UInt64(vocabularySize))
                    }
                    tok[i] = r
                }
            }
            var rowChosen = 0
            var fallback = -1, fallbackDraw = 1.0
            for i in 0..<T {
                tg[i] = ignoreIndex
                guard i < used, !isSpecialToken(tok[i]) else { continue }
                let draw = Self.unit(hash(key, i, .choose))
                if draw < maskRate {
                    choose(i)
                    rowChosen += 1
                } else if draw < fallbackDraw {
                    fallback = i
                    fallbackDraw = draw
                }
            }
            // A row with eligible tokens always gets a target (its lowest draw), so no batch has an
            // empty loss.
            if rowChosen == 0, fallback >= 0, maskRate > 0 { choose(fallback) }
        }
    }
}
