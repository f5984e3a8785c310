import DataPipeline
import Foundation

/// The Python `tokenizers` side of `TokenizerBenchmark`: the same documents, vocabulary size and
/// settings, run by a script in a scratch directory.
enum TokenizerPeer {
    struct Result {
        var version: String
        /// Seconds to train; to encode once (wall, CPU); to encode all passes.
        var trainSeconds, encodeOne, encodeOneCPU, encodeMany: Double
        var tokens: Int
        /// The ids each side produced.
        var ours, theirs: [Int32]
        var directory: String
    }

    /// Runs the Python side in a scratch directory and reads back its timings and ids.
    static func run(_ s: TokenizerBenchmark.Settings, tokenizer: Tokenizer, documents: [[UInt8]], threads: Int) throws -> Result {
        let directory = NSTemporaryDirectory() + "/bench-tokenizer-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try tokenizer.save(to: directory + "/ours.json")
        try Foundation.Data(documents.joined(separator: [0]).map { $0 }).write(to: URL(fileURLWithPath: directory + "/documents.bin"))
        try Foundation.Data(Self.peerScript.utf8).write(to: URL(fileURLWithPath: directory + "/peer.py"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [s.python, directory + "/peer.py", directory, s.tokenizerPath == nil ? String(s.vocabSize) : "0",
                             String(max(1, s.passes))]
        var environment = ProcessInfo.processInfo.environment
        environment["RAYON_NUM_THREADS"] = String(threads)
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw BenchmarkError("cannot start \(s.python); pass --python PATH or --no-peer") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let json = try? JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any]
        else {
            let last = output.split(separator: "\n").last.map(String.init) ?? "no output"
            throw BenchmarkError("\(s.python) failed (\(last)); pip install tokenizers, or pass --no-peer")
        }
        func ids(_ name: String) throws -> [Int32] {
            let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            return data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        }
        return Result(version: json["version"] as? String ?? "?", trainSeconds: json["train_s"] as? Double ?? .nan,
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
