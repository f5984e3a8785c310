import Foundation

/// Beam search over any encoder-decoder's incremental decoder (`Seq2SeqDecoder`: `T5Inference`,
/// `TransformerInference`) with Hugging Face `generate`'s semantics (`num_beams` > 1,
/// `do_sample=False`; transformers 5's `_beam_search`), for one source at a time.
///
/// Shapes: N = `numBeams` running beams decoded as the inference's rows (the cross-attention K/V shared,
/// the self-attention caches reordered after each step), V vocabulary, M = `maxNewTokens`, K = 2N
/// candidates per step. Each step: log-softmax of every beam's logits plus its running score; the K
/// best (beam, token) continuations over all N·V; a candidate "hits" when its token is EOS or the
/// output reaches M tokens. The N best candidates that do not hit run on. Of the first N candidates,
/// those that hit are finished hypotheses scored sum-log-prob / length ** `lengthPenalty` (length
/// counting the EOS); the N best finished ones are kept. The search stops when every candidate hits,
/// when N hypotheses are finished and `earlyStopping` is `whenFull`, or when the best running beam can
/// no longer beat the worst kept hypothesis (at its current length, or with `never` and a positive
/// penalty at length M). Scores are float32 as Hugging Face keeps them, with its -1e9 for impossible
/// beams. All state is allocated once per search object; a step allocates nothing.
public final class BeamSearch {
    /// The decoder; its `rows` must be at least `numBeams`.
    public let inference: any Seq2SeqDecoder
    /// Beams, at most new tokens, length penalty and early stopping.
    public let settings: GenerationSettings
    private let N: Int, K: Int, M: Int
    // Running beams: score, tokens (N, M) (double-buffered: rows are gathered each step), next inputs.
    private var running: [Float], tokens: [Int32], nextTokens: [Int32], inputs: [Int32], sources: [Int32]
    // The step's K candidates, best first.
    private var candidateScore: [Float], candidateBeam: [Int], candidateToken: [Int32], candidateHits: [Bool]
    // Finished hypotheses: score, tokens (N, M), length, finished flag (double-buffered for the merge).
    private var finished: [Float], finishedTokens: [Int32], finishedLength: [Int], isFinished: [Bool]
    private var mergedScore: [Float], mergedTokens: [Int32], mergedLength: [Int], mergedFinished: [Bool]
    private var mergedSource: [Int]

    static let impossible: Float = -1e9

    /// A search with `settings` (numBeams, maxNewTokens, lengthPenalty, earlyStopping) over `inference`.
    public init(inference: any Seq2SeqDecoder, settings: GenerationSettings) throws {
        try settings.validate(vocabularySize: inference.vocabularySize)
        guard inference.rows >= settings.numBeams else {
            throw ModelError("--num-beams \(settings.numBeams) needs a decoder set up for \(settings.numBeams) rows; it has \(inference.rows)")
        }
        guard inference.cache.capacity >= settings.maxNewTokens else {
            throw ModelError("--max-new-tokens \(settings.maxNewTokens) exceeds the \(inference.cache.capacity) positions this decoder was set up for")
        }
        self.inference = inference
        self.settings = settings
        N = settings.numBeams; K = 2 * N; M = settings.maxNewTokens
        running = .init(repeating: 0, count: N); tokens = .init(repeating: 0, count: N * M); nextTokens = tokens
        inputs = .init(repeating: 0, count: N); sources = .init(repeating: 0, count: N)
        candidateScore = .init(repeating: 0, count: K); candidateBeam = .init(repeating: 0, count: K)
        candidateToken = .init(repeating: 0, count: K); candidateHits = .init(repeating: false, count: K)
        finished = .init(repeating: 0, count: N); finishedTokens = tokens; finishedLength = .init(repeating: 0, count: N)
        isFinished = .init(repeating: false, count: N)
        mergedScore = .init(repeating: 0, count: N); mergedTokens = tokens; mergedLength = finishedLength
        mergedFinished = isFinished; mergedSource = .init(repeating: 0, count: 3 * N)
    }

    /// The best hypothesis for `source` (its ids, EOS included when it ended there) and its score.
    public func run(source: [Int32]) throws -> (ids: [Int32], score: Float) {
        try run(source: source, returning: 1)[0]
    }

    /// The `count` (1…numBeams) best hypotheses for `source`, best first, each with its score, as
    /// `generate(num_return_sequences: count)` returns them with `sequences_scores`.
    public func run(source: [Int32], returning count: Int) throws -> [(ids: [Int32], score: Float)] {
        precondition(count >= 1 && count <= N, "\(count) hypotheses asked of a \(N)-beam search")
        let V = inference.vocabularySize, eos = inference.eosTokenId
        try inference.start(source: source)
        for b in 0..<N {
            running[b] = b == 0 ? 0 : Self.impossible   // only the first beam's continuations at step 1
            inputs[b] = inference.decoderStartTokenId
            finished[b] = Self.impossible
            isFinished[b] = false
        }
        var improvable = true, step = 0
        while true {
            try inputs.withUnsafeBufferPointer { try inference.append(rows: $0) }
            topCandidates(V: V)
            var allHit = true
            for k in 0..<K {
                candidateHits[k] = candidateToken[k] == eos || step + 1 >= M
                allHit = allHit && candidateHits[k]
            }
            keepFinished(step: step, improvable: improvable)
            advance(step: step)
            step += 1
            improvable = improvable && canImprove(step: step)
            let full = settings.earlyStopping == .whenFull && isFinished.allSatisfy { $0 }
            if !improvable || full || allHit { break }
        }
        return (0..<count).map { (Array(finishedTokens[$0 * M..<($0 * M + finishedLength[$0])]), finished[$0]) }
    }

    /// The K best (beam, token) by running score + log-softmax, best first (ties: lower beam·V + token).
    private func topCandidates(V: Int) {
        for k in 0..<K { candidateScore[k] = -.infinity; candidateBeam[k] = 0; candidateToken[k] = 0 }
        for b in 0..<N {
            let logits = inference.logits(row: b)
            var top = -Float.infinity
            for x in logits { top = max(top, x) }
            var sum = 0.0
            for x in logits { sum += exp(Double(x - top)) }
            let logZ = Double(top) + log(sum), base = running[b]
            for v in 0..<V {
                let score = Float(Double(logits[v]) - logZ) + base
                guard score > candidateScore[K - 1] else { continue }
                var k = K - 1
                while k > 0, score > candidateScore[k - 1] {
                    candidateScore[k] = candidateScore[k - 1]; candidateBeam[k] = candidateBeam[k - 1]; candidateToken[k] = candidateToken[k - 1]
                    k -= 1
                }
                candidateScore[k] = score; candidateBeam[k] = b; candidateToken[k] = Int32(v)
            }
        }
    }

    /// Merges the first N candidates that hit (scored by length) into the N best finished hypotheses.
    private func keepFinished(step: Int, improvable: Bool) {
        let length = step + 1
        let divisor = Float(pow(Double(length), settings.lengthPenalty))
        let full = isFinished.allSatisfy { $0 } && settings.earlyStopping == .whenFull
        // Merge the old N hypotheses with the new ones (first N candidates that hit), N best, old first on ties.
        var taken = 0
        func score(_ source: Int) -> Float {
            if source < N { return finished[source] }
            let k = source - N
            var s = candidateScore[k] / divisor
            if full { s += Self.impossible }
            if !improvable { s += Self.impossible }
            return s
        }
        func isCandidate(_ source: Int) -> Bool { source < N || (candidateHits[source - N] && source - N < N) }
        while taken < N {
            var best = -1
            for source in 0..<(2 * N) where isCandidate(source) && !mergedSource[0..<taken].contains(source) {
                if best < 0 || score(source) > score(best) { best = source }
            }
            guard best >= 0 else { break }
            mergedSource[taken] = best
            taken += 1
        }
        for j in 0..<N {
            guard j < taken else {
                mergedScore[j] = Self.impossible; mergedLength[j] = 0; mergedFinished[j] = false
                continue
            }
            let source = mergedSource[j]
            mergedScore[j] = score(source)
            if source < N {
                copy(&mergedTokens, j, from: finishedTokens, source, count: finishedLength[source])
                mergedLength[j] = finishedLength[source]
                mergedFinished[j] = isFinished[source]
            } else {
                let k = source - N
                copy(&mergedTokens, j, from: tokens, candidateBeam[k], count: step)
                mergedTokens[j * M + step] = candidateToken[k]
                mergedLength[j] = length
                mergedFinished[j] = true
            }
        }
        swap(&finished, &mergedScore); swap(&finishedTokens, &mergedTokens)
        swap(&finishedLength, &mergedLength); swap(&isFinished, &mergedFinished)
    }

    /// The N best candidates that do not hit (then those that do) become the running beams; the
    /// decoder's caches follow them.
    private func advance(step: Int) {
        var j = 0
        for pass in 0..<2 {
            for k in 0..<K where j < N && candidateHits[k] == (pass == 1) {
                let b = candidateBeam[k]
                sources[j] = Int32(b)
                running[j] = candidateScore[k] + (pass == 1 ? Self.impossible : 0)
                copy(&nextTokens, j, from: tokens, b, count: step)
                nextTokens[j * M + step] = candidateToken[k]
                inputs[j] = candidateToken[k]
                j += 1
            }
        }
        swap(&tokens, &nextTokens)
        sources.withUnsafeBufferPointer { inference.reorder($0) }
    }

    /// Hugging Face's `_check_early_stop_heuristic` after `step` tokens: whether the best running beam
    /// could still beat the worst finished hypothesis.
    private func canImprove(step: Int) -> Bool {
        let length = settings.earlyStopping == .never && settings.lengthPenalty > 0 ? M : step
        let best = running[0] / Float(pow(Double(length), settings.lengthPenalty))
        let worst = finished.min()!
        return isFinished.contains { !$0 } ? best > Self.impossible || worst < best : best > worst
    }

    private func copy(_ into: inout [Int32], _ row: Int, from: [Int32], _ sourceRow: Int, count: Int) {
        for t in 0..<count { into[row * M + t] = from[sourceRow * M + t] }
    }
}
