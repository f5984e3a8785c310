import DataPipeline
import Foundation

/// BPE training time and encode throughput, beside the Python `tokenizers` library: both sides train
/// (or load) the same tokenizer on the same documents, encode them cold on 1 thread and on several,
/// and each encodes with the other's tokenizer.json so that the ids can be compared.
public enum TokenizerBenchmark {
    /// Debian's fortunes, the default corpus.
    public static let fortunes = "/usr/share/games/fortunes"

    /// What to measure.
    public struct Settings: Sendable {
        /// Text files or directories.
        public var inputs: [String]
        /// Document separator line (nil: '%' for the default fortunes, else one document per file).
        public var documentSeparator: String?
        /// Vocabulary size for both trainers.
        public var vocabSize: Int
        /// Skip training: both sides encode with this tokenizer.
        public var tokenizerPath: String?
        /// Threads for the multi-threaded runs.
        public var threads: Int
        /// Timed passes per measurement; the best is reported.
        public var passes: Int
        /// Python interpreter for the peer.
        public var python: String
        /// Whether to run the Python peer.
        public var peer: Bool

        public init(inputs: [String], documentSeparator: String?, vocabSize: Int, tokenizerPath: String?, threads: Int, passes: Int,
                    python: String, peer: Bool) {
            (self.inputs, self.documentSeparator, self.vocabSize, self.tokenizerPath) = (inputs, documentSeparator, vocabSize, tokenizerPath)
            (self.threads, self.passes, self.python, self.peer) = (max(1, threads), passes, python, peer)
        }
    }

    /// What was measured: the corpus line, the table rows (label, ours, the peer's) and notes.
    public struct Result: Sendable {
        public var corpus: String
        public var rows: [(String, String, String)]
        public var notes: [String]

        /// The report `pretrain bench tokenizer` prints.
        public var lines: [String] {
            [corpus] + ([("", "ours", "tokenizers (Python)")] + rows).map { row in
                row.0.padding(toLength: 22, withPad: " ", startingAt: 0) + row.1.padding(toLength: 14, withPad: " ", startingAt: 0) + row.2
            } + notes
        }
    }

    /// Reads the corpus, trains or loads, encodes, and runs the peer unless told not to.
    public static func run(_ s: Settings) throws -> Result {
        let threadCount = s.threads
        let isDefault = s.inputs == [fortunes]
        let separator = s.documentSeparator ?? (isDefault ? "%" : nil)
        let documents: [[UInt8]]
        let files: Int
        do {
            let corpus = try TextCorpus(inputs: s.inputs, documentSeparator: separator)
            var collected: [[UInt8]] = []
            try corpus.forEachBatch(batchBytes: 1 << 24) { units in
                for unit in units {
                    if unit.startsDocument { collected.append(Array(unit.bytes)) } else { collected[collected.count - 1] += unit.bytes }
                }
            }
            documents = collected
            files = corpus.files.count
        } catch let error as DataError {
            throw BenchmarkError(error.description + (isDefault ? " (apt-get install fortunes, or pass --input)" : ""))
        }
        let bytes = documents.reduce(0) { $0 + $1.count }
        let megabytes = Double(bytes) / 1e6
        let trainStart = Date()
        let tokenizer: Tokenizer
        do {
            tokenizer = try s.tokenizerPath.map { try Tokenizer.load(from: $0) }
                ?? BPETrainer(vocabularySize: s.vocabSize, threads: threadCount).train(documents: documents)
        } catch let error as DataError {
            throw BenchmarkError(error.description)
        }
        let trainSeconds = Date().timeIntervalSince(trainStart)
        let corpusLine = "corpus: \(s.inputs.joined(separator: " ")) (\(files) files, \(documents.count) documents, "
            + String(format: "%.2f MB), ", megabytes) + "vocabulary \(tokenizer.vocabularySize)"
            + (s.tokenizerPath.map { " from \($0)" } ?? "") + ", \(threadCount) threads"
        let passes = max(1, s.passes)
        let (oneThread, ids, oneThreadCPU) = bestEncode(tokenizer, documents, threads: 1, passes: passes)
        let manyThreads = bestEncode(tokenizer, documents, threads: threadCount, passes: passes).wall

        var rows: [(String, String, String)] = [
            (s.tokenizerPath == nil ? "train (\(threadCount) threads)" : "load", String(format: "%.2f s", trainSeconds), "-"),
            ("encode, 1 thread", String(format: "%.1f MB/s", megabytes / oneThread), "-"),
            ("  per CPU-second", String(format: "%.1f MB/s", megabytes / oneThreadCPU), "-"),
            ("encode, \(threadCount) threads", String(format: "%.1f MB/s", megabytes / manyThreads), "-"),
            ("tokens", "\(ids.count)", "-"),
        ]
        var notes: [String] = []
        if s.peer {
            do {
                let peer = try TokenizerPeer.run(s, tokenizer: tokenizer, documents: documents, threads: threadCount)
                rows[0].2 = s.tokenizerPath == nil ? String(format: "%.2f s", peer.trainSeconds) : "-"
                rows[1].2 = String(format: "%.1f MB/s", megabytes / peer.encodeOne)
                rows[2].2 = String(format: "%.1f MB/s", megabytes / peer.encodeOneCPU)
                rows[3].2 = String(format: "%.1f MB/s", megabytes / peer.encodeMany)
                rows[4].2 = "\(peer.tokens)"
                notes.append(peer.ours == ids
                    ? "parity: tokenizers encodes with our tokenizer.json: identical ids (\(ids.count) tokens)"
                    : "parity: tokenizers encodes with our tokenizer.json: DIFFERENT ids (\(peer.ours.count) vs \(ids.count) tokens)")
                if s.tokenizerPath == nil {
                    let theirs = try Tokenizer.load(from: peer.directory + "/hf-tokenizer.json")
                    let ourIdsWithTheirs = bestEncode(theirs, documents, threads: threadCount, passes: 1).ids
                    notes.append(ourIdsWithTheirs == peer.theirs
                        ? "parity: we encode with tokenizers' tokenizer.json: identical ids (\(peer.theirs.count) tokens)"
                        : "parity: we encode with tokenizers' tokenizer.json: DIFFERENT ids")
                }
                notes.append("peer: tokenizers \(peer.version), encode_batch; TOKENIZERS_PARALLELISM=false for the 1-thread rows, time.thread_time() for CPU time")
                try? FileManager.default.removeItem(atPath: peer.directory)
            } catch let error as BenchmarkError {
                notes.append("peer skipped: \(error.message)")
            }
        }
        return Result(corpus: corpusLine, rows: rows, notes: notes)
    }

    /// Best wall time over `passes` of encoding every document with fresh encoders (cold caches).
    /// With one thread the work runs on the calling thread and `cpu` is that thread's CPU time,
    /// which other processes on a busy machine do not inflate.
    static func bestEncode(_ tokenizer: Tokenizer, _ documents: [[UInt8]], threads: Int, passes: Int) -> (wall: Double, ids: [Int32], cpu: Double) {
        var best = Double.infinity
        var bestCPU = Double.infinity
        var result: [Int32] = []
        let bounds = (0...threads).map { documents.count * $0 / threads }
        for _ in 0..<passes {
            let outputs = (0..<threads).map { _ in Box() }
            let start = Date()
            let cpuStart = threadCPUTime()
            let work = { (worker: Int) in
                let encoder = tokenizer.makeEncoder()
                var out: [Int32] = []
                for document in documents[bounds[worker]..<bounds[worker + 1]] {
                    document.withUnsafeBufferPointer { encoder.encodeOrdinary($0, into: &out) }
                }
                outputs[worker].ids = out
            }
            if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
            best = min(best, Date().timeIntervalSince(start))
            bestCPU = min(bestCPU, threadCPUTime() - cpuStart)
            result = outputs.flatMap(\.ids)
        }
        return (best, result, bestCPU)
    }

    /// CPU seconds used by the calling thread so far.
    static func threadCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private final class Box { var ids: [Int32] = [] }
}
