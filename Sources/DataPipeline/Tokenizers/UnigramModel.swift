/// SentencePiece's Unigram model as Hugging Face `tokenizers` applies it to one pre-tokenized word.
///
/// Viterbi over the scored pieces: the segmentation with the highest total score, where a
/// scalar no piece starts with counts as the unknown piece with score (lowest score − 10); runs
/// of unknown scalars are fused into one unknown piece (`fuse_unk`). A piece missing from the
/// vocabulary becomes its UTF-8 bytes as `<0xNN>` pieces when `byte_fallback` is set and they
/// all exist, otherwise the unknown id (a model without one drops the piece, where the Python
/// library raises an error). Ties keep the shorter, earlier candidate, as the Rust
/// library's trie walk does.
struct UnigramModel {
    /// Piece text by id.
    let vocabulary: [String]
    /// Score by id.
    let scores: [Double]
    /// UTF-8 bytes → id.
    let ids: [[UInt8]: Int32]
    /// The unknown piece's id, when the model has one.
    let unknown: Int32?
    /// Whether missing pieces become `<0xNN>` byte pieces.
    let byteFallback: Bool
    /// Whether runs of unknown scalars fuse into one unknown piece.
    let fuseUnknown: Bool
    private let maxPieceScalars: Int
    private let unknownScore: Double
    private let byteIds: [Int32]  // <0xNN> ids, -1 when missing

    init(vocabulary: [String], scores: [Double], unknown: Int32?, byteFallback: Bool, fuseUnknown: Bool) {
        self.vocabulary = vocabulary
        self.scores = scores
        var ids: [[UInt8]: Int32] = [:]
        var longest = 1
        for (id, piece) in vocabulary.enumerated() {
            let key = Array(piece.utf8)
            if ids[key] == nil { ids[key] = Int32(id) }
            longest = max(longest, piece.unicodeScalars.count)
        }
        self.ids = ids
        self.unknown = unknown
        self.byteFallback = byteFallback
        self.fuseUnknown = fuseUnknown
        maxPieceScalars = longest
        unknownScore = (scores.min() ?? 0) - 10
        byteIds = (0..<256).map { ids[Array(String(format: "<0x%02X>", $0).utf8)] ?? -1 }
    }

    /// Appends the ids of one word.
    func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
        let n = word.count
        guard n > 0 else { return }
        var offsets = [0]  // UTF-8 offset of each scalar, plus the end
        var utf8: [UInt8] = []
        for scalar in word {
            utf8.append(contentsOf: Unicode.UTF8.encode(scalar)!)
            offsets.append(utf8.count)
        }
        var bestScore = [Double](repeating: 0, count: n + 1)
        var startOf = [Int](repeating: -1, count: n + 1)
        var idOf = [Int32](repeating: -1, count: n + 1)
        for start in 0..<n {
            if start > 0, startOf[start] < 0 { continue }
            let base = bestScore[start]
            var hasSingle = false
            for end in (start + 1)...min(n, start + maxPieceScalars) {
                guard let id = ids[Array(utf8[offsets[start]..<offsets[end]])] else { continue }
                let candidate = base + scores[Int(id)]
                if startOf[end] < 0 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    startOf[end] = start
                    idOf[end] = id
                }
                if end == start + 1 { hasSingle = true }
            }
            if !hasSingle {
                let candidate = base + unknownScore
                if startOf[start + 1] < 0 || candidate > bestScore[start + 1] {
                    bestScore[start + 1] = candidate
                    startOf[start + 1] = start
                    idOf[start + 1] = unknown ?? -1
                }
            }
        }
        // Back-track into (start, end, id) pieces, fusing runs of unknowns.
        var pieces: [(Int, Int, Int32)] = []
        var end = n
        while end > 0 {
            let start = startOf[end]
            let id = idOf[end]
            if fuseUnknown, let unknown, id == unknown, let last = pieces.last, last.2 == unknown, last.0 == end {
                pieces[pieces.count - 1].0 = start
            } else {
                pieces.append((start, end, id))
            }
            end = start
        }
        for (start, end, id) in pieces.reversed() {
            let bytes = utf8[offsets[start]..<offsets[end]]
            if let known = ids[Array(bytes)] {
                out.append(known)
                continue
            }
            if byteFallback, bytes.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                for byte in bytes { out.append(byteIds[Int(byte)]) }
                continue
            }
            // No unk_id: the Python library raises; dropping the piece keeps every id valid.
            if let unknown { out.append(unknown) } else if id >= 0 { out.append(id) }
        }
    }
}
