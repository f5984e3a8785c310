import Kernels

/// What incremental decoding with an encoder-decoder (`T5Inference`, `TransformerInference`) keeps
/// about one source, allocated once: the decoder's self-attention keys and values (`cache`) and each
/// decoder layer's cross-attention keys and values of the encoded source.
///
/// Shapes: Ld decoder layers, S source length (≤ maxSource), D = `width` attention channels; layer l's
/// cross keys and values are a (maxSource, 2D) block, keys in columns [0, D), values in [D, 2D).
final class EncoderDecoderCache {
    /// The decoder's self-attention keys and values, (P, D) per layer and row.
    let cache: KVCache
    private let crossKV: FlatBuffer   // (Ld, maxSource, 2D)
    private let maxSource: Int, width: Int
    /// Tokens of the source encoded by `start` (0: none yet).
    private(set) var sourceLength = 0

    /// Room for `capacity` decoder positions of `rows` rows of `layers` layers of `width` channels,
    /// over sources of up to `maxSource` tokens.
    init(layers: Int, width: Int, maxSource: Int, capacity: Int, rows: Int = 1) throws {
        cache = try KVCache(layers: layers, channels: width, capacity: capacity, rows: rows)
        crossKV = try FlatBuffer(count: layers * maxSource * 2 * width)
        self.maxSource = maxSource; self.width = width
    }

    /// Decoder layer l's (maxSource, 2D) cross-attention keys and values.
    func crossKeysValues(_ l: Int) -> UnsafeMutablePointer<Float> { crossKV.pointer + l * maxSource * 2 * width }

    /// A new sequence: checks `source` (no padding), runs `model`'s encoder on it with dropout off,
    /// has `project(l, into, S)` write each decoder layer's cross keys and values from the encoder's output,
    /// and empties the decoder cache. Throws one line for an empty or too long source or a bad id.
    func start(source: [Int32], model: EncoderDecoderModel, project: (Int, UnsafeMutablePointer<Float>, Int) -> Void) throws {
        let S = source.count
        guard S >= 1, S <= maxSource else { throw ModelError("the source has \(S) tokens; this model was built for 1 to \(maxSource)") }
        try source.withUnsafeBufferPointer { try Seq2Seq.check($0.baseAddress!, S, "source token id", vocabularySize: model.vocabularySize) }
        let training = model.training
        model.training = false
        defer { model.training = training }
        source.withUnsafeBufferPointer { model.encode(source: $0.baseAddress!, sourceMask: nil, B: 1, S: S) }
        for l in 0..<cache.L { project(l, crossKeysValues(l), S) }
        sourceLength = S
        cache.reset()
    }

    /// The position the next decoder token goes at; throws one line before `start` or when the cache is full.
    func nextPosition() throws -> Int {
        guard sourceLength > 0 else { throw ModelError("start(source:) must encode a source before decoding") }
        guard cache.count < cache.capacity else {
            throw ModelError("the output would exceed the \(cache.capacity) positions this decoder was set up for; ask for fewer new tokens")
        }
        return cache.count
    }
}
