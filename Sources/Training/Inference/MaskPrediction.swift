/// The most likely tokens for one [MASK] of a text, most likely first.
public struct MaskPrediction {
    /// One candidate token.
    public struct Candidate {
        /// Token id.
        public let id: Int
        /// The token's bytes as text (invalid UTF-8 as U+FFFD).
        public let text: String
        /// Softmax probability over the vocabulary.
        public let probability: Double
    }

    /// Position of the [MASK] in the encoded sequence ([CLS] at 0).
    public let position: Int
    /// The top-k candidates, most likely first (equal probabilities: lower id first).
    public let candidates: [Candidate]
}
