import ArgumentParser
import DataPipeline
import Foundation

/// `pretrain bench tokenizer`: BPE training time and encode throughput, beside Python `tokenizers`.
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Time tokenizer training and encoding, side by side with the Python tokenizers library.",
        discussion: """
        With --tokenizer both sides skip training and encode with that file. Otherwise both sides train a byte-level BPE tokenizer of the same vocabulary size on the same documents \
        (GPT-2 split, the same 5 special tokens, min frequency 2), then encode every document with a \
        cold cache, on 1 thread and on --threads threads (best of --passes). Each side also encodes \
        with the other's tokenizer.json and the ids are compared. The peer runs when `python3 -c \
        'import tokenizers'` works (pip install tokenizers); --no-peer skips it.
        """)

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Text files or directories (default: Debian's fortunes).", valueName: "path"))
    var input: [String] = ["/usr/share/games/fortunes"]

    @Option(name: .long, help: ArgumentHelp("Document separator line (default '%' for fortunes, else one document per file).", valueName: "line"))
    var documentSeparator: String?

    @Option(name: .long, help: ArgumentHelp("Vocabulary size for both trainers.", valueName: "n"))
    var vocabSize: Int = 4096

    @Option(name: .long, help: ArgumentHelp("Skip training: both sides encode with this tokenizer.json (or GPT-2 vocab.json + merges.txt).", valueName: "file"))
    var tokenizer: String?

    @Option(name: .long, help: ArgumentHelp("Threads for the multi-threaded runs (default: all cores).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Timed passes per measurement; the best is reported.", valueName: "n"))
    var passes: Int = 3

    @Option(name: .long, help: ArgumentHelp("Python interpreter for the peer.", valueName: "path"))
    var python: String = "python3"

    @Flag(name: .long, help: "Skip the Python tokenizers peer.")
    var noPeer = false

    func run() throws {
        let threadCount = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let separator = documentSeparator ?? (input == ["/usr/share/games/fortunes"] ? "%" : nil)
        let documents: [[UInt8]]
        let files: Int
        do {
            let corpus = try TextCorpus(inputs: input, documentSeparator: separator)
            var collected: [[UInt8]] = []
            try corpus.forEachBatch(batchBytes: 1 << 24) { units in
                for unit in units {
                    if unit.startsDocument { collected.append(Array(unit.bytes)) } else { collected[collected.count - 1] += unit.bytes }
                }
            }
            documents = collected
            files = corpus.files.count
        } catch let error as DataError {
            throw CLIError(error.description + (input == ["/usr/share/games/fortunes"] ? " (apt-get install fortunes, or pass --input)" : ""))
        }
        let bytes = documents.reduce(0) { $0 + $1.count }
        let megabytes = Double(bytes) / 1e6
        let trainStart = Date()
        let tokenizer: Tokenizer
        do {
            tokenizer = try self.tokenizer.map { try Tokenizer.load(from: $0) }
                ?? BPETrainer(vocabularySize: vocabSize, threads: threadCount).train(documents: documents)
        } catch let error as DataError {
            throw CLIError(error.description)
        }
        let trainSeconds = Date().timeIntervalSince(trainStart)
        print("corpus: \(input.joined(separator: " ")) (\(files) files, \(documents.count) documents, "
            + String(format: "%.2f MB), ", megabytes) + "vocabulary \(tokenizer.vocabularySize)"
            + (self.tokenizer.map { " from \($0)" } ?? "") + ", \(threadCount) threads")
        let (oneThread, ids, oneThreadCPU) = bestEncode(tokenizer, documents, threads: 1)
        let manyThreads = bestEncode(tokenizer, documents, threads: threadCount).wall

        var rows: [(String, String, String)] = [
            (self.tokenizer == nil ? "train (\(threadCount) threads)" : "load", String(format: "%.2f s", trainSeconds), "-"),
            ("encode, 1 thread", String(format: "%.1f MB/s", megabytes / oneThread), "-"),
            ("  per CPU-second", String(format: "%.1f MB/s", megabytes / oneThreadCPU), "-"),
            ("encode, \(threadCount) threads", String(format: "%.1f MB/s", megabytes / manyThreads), "-"),
            ("tokens", "\(ids.count)", "-"),
        ]
        var notes: [String] = []
        if !noPeer {
            do {
                let peer = try runPeer(tokenizer: tokenizer, documents: documents, threads: threadCount)
                rows[0].2 = self.tokenizer == nil ? String(format: "%.2f s", peer.trainSeconds) : "-"
                rows[1].2 = String(format: "%.1f MB/s", megabytes / peer.encodeOne)
                rows[2].2 = String(format: "%.1f MB/s", megabytes / peer.encodeOneCPU)
                rows[3].2 = String(format: "%.1f MB/s", megabytes / peer.encodeMany)
                rows[4].2 = "\(peer.tokens)"
                notes.append(peer.ours == ids
                    ? "parity: tokenizers encodes with our tokenizer.json: identical ids (\(ids.count) tokens)"
                    : "parity: tokenizers encodes with our tokenizer.json: DIFFERENT ids (\(peer.ours.count) vs \(ids.count) tokens)")
                if self.tokenizer == nil {
                    let theirs = try Tokenizer.load(from: peer.directory + "/hf-tokenizer.json")
                    let ourIdsWithTheirs = bestEncode(theirs, documents, threads: threadCount, passCount: 1).ids
                    notes.append(ourIdsWithTheirs == peer.theirs
                        ? "parity: we encode with tokenizers' tokenizer.json: identical ids (\(peer.theirs.count) tokens)"
                        : "parity: we encode with tokenizers' tokenizer.json: DIFFERENT ids")
                }
                notes.append("peer: tokenizers \(peer.version), encode_batch; TOKENIZERS_PARALLELISM=false for the 1-thread rows, time.thread_time() for CPU time")
                try? FileManager.default.removeItem(atPath: peer.directory)
            } catch let error as CLIError {
                notes.append("peer skipped: \(error.message)")
            }
        }
        let header = ("", "ours", "tokenizers (Python)")
        for row in [header] + rows {
            print(row.0.padding(toLength: 22, withPad: " ", startingAt: 0) + row.1.padding(toLength: 14, withPad: " ", startingAt: 0) + row.2)
        }
        notes.forEach { print($0) }
    }

    /// Best wall time over `passes` of encoding every document with fresh encoders (cold caches).
    /// With one thread the work runs on the calling thread and `cpu` is that thread's CPU time,
    /// which other processes on a busy machine do not inflate.
    private func bestEncode(_ tokenizer: Tokenizer, _ documents: [[UInt8]], threads: Int, passCount: Int? = nil)
        -> (wall: Double, ids: [Int32], cpu: Double)
    {
        var best = Double.infinity
        var bestCPU = Double.infinity
        var result: [Int32] = []
        let bounds = (0...threads).map { documents.count * $0 / threads }
        for _ in 0..<(passCount ?? max(1, self.passes)) {
            let outputs = (0..<threads).map { _ in Box() }
            let start = Date()
            let cpuStart = Self.threadCPUTime()
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
            bestCPU = min(bestCPU, Self.threadCPUTime() - cpuStart)
            result = outputs.flatMap(\.ids)
        }
        return (best, result, bestCPU)
    }

    /// CPU seconds used by the calling thread so far.
    private static func threadCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private final class Box { var ids: [Int32] = [] }

    private struct PeerResult {
        var version: String
        var trainSeconds: Double
        var encodeOne: Double
        var encodeOneCPU: Double
        var encodeMany: Double
        var tokens: Int
        var ours: [Int32]
        var theirs: [Int32]
        var directory: String
    }

    /// Runs the Python side in a scratch directory and reads back its timings and ids.
    private func runPeer(tokenizer: Tokenizer, documents: [[UInt8]], threads: Int) throws -> PeerResult {
        let directory = NSTemporaryDirectory() + "/bench-tokenizer-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try tokenizer.save(to: directory + "/ours.json")
        try Foundation.Data(documents.joined(separator: [0]).map { $0 }).write(to: URL(fileURLWithPath: directory + "/documents.bin"))
        try Foundation.Data(Self.peerScript.utf8).write(to: URL(fileURLWithPath: directory + "/peer.py"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, directory + "/peer.py", directory, self.tokenizer == nil ? String(vocabSize) : "0",
                             String(max(1, self.passes))]
        var environment = ProcessInfo.processInfo.environment
        environment["RAYON_NUM_THREADS"] = String(threads)
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw CLIError("cannot start \(python); pass --python PATH or --no-peer") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let json = try? JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any]
        else {
            let last = output.split(separator: "\n").last.map(String.init) ?? "no output"
            throw CLIError("\(python) failed (\(last)); pip install tokenizers, or pass --no-peer")
        }
        func ids(_ name: String) throws -> [Int32] {
            let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            return data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        }
        return PeerResult(version: json["version"] as? String ?? "?", trainSeconds: json["train_s"] as? Double ?? .nan,
                          encodeOne: json["encode1_s"] as? Double ?? .nan, encodeOneCPU: json["encode1_cpu_s"] as? Double ?? .nan,
                          encodeMany: json["encodeN_s"] as? Double ?? .nan,
                          tokens: json["tokens"] as? Int ?? 0, ours: try ids("ours-ids.bin"), theirs: try ids("hf-ids.bin"),
                          directory: directory)
    }

    /// The Python side: same documents, same vocabulary size, same settings.
    static let peerScript = #"""
    import json, os, sys, time
    from array import array
    directory, vocab_size, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    raw = open(os.path.join(directory, "documents.bin"), "rb").read()
    docs = [d.decode("utf-8", errors="replace") for d in raw.split(b"\0")]
    def fresh(path):
        return Tokenizer.from_file(path)
    def encode_all(path):
        best, best_cpu, ids = float("inf"), float("inf"), None
        for _ in range(repeat):
            tok = fresh(path)
            start, cpu = time.perf_counter(), time.thread_time()
            encs = tok.encode_batch(docs, add_special_tokens=False)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.thread_time() - cpu)
            ids = [i for e in encs for i in e.ids]
        return best, ids, best_cpu
    hf_path = os.path.join(directory, "hf-tokenizer.json")
    train_s = 0.0
    if vocab_size > 0:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
            special_tokens=["<|endoftext|>", "[PAD]", "[MASK]", "[CLS]", "[SEP]"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        start = time.perf_counter()
        tok.train_from_iterator(docs, trainer=trainer)
        train_s = time.perf_counter() - start
        tok.save(hf_path)
    else:
        hf_path = os.path.join(directory, "ours.json")
    encodeN, hf_ids, _ = encode_all(hf_path)
    _, our_ids, _ = encode_all(os.path.join(directory, "ours.json"))
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    encode1, _, encode1_cpu = encode_all(hf_path)
    array("i", hf_ids).tofile(open(os.path.join(directory, "hf-ids.bin"), "wb"))
    array("i", our_ids).tofile(open(os.path.join(directory, "ours-ids.bin"), "wb"))
    print(json.dumps({"version": tokenizers.__version__, "train_s": train_s, "encode1_s": encode1, "encode1_cpu_s": encode1_cpu,
                      "encodeN_s": encodeN, "tokens": len(hf_ids)}))
    """#
}
