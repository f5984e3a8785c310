import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Support

/// The memory one rank of a run will hold, computed from the config and batch shape before anything
/// large is allocated, and the check against what the host can give it.
///
/// The parts (bytes): parameters and gradients (one float each per parameter), AdamW's two moments
/// (per rank ÷ ranks under ZeRO-1, plus its update scratch), the activations and backward scratch of
/// the micro-batch (the same region formulas as `GPTActivations`, `BERTActivations` and
/// `BlockActivations`, which allocate exactly this), the checkpoint staging copy (this rank's share of
/// parameters and moments), communication buffers, and a `baseline`: what the process already holds
/// (runtime, MPI, BLAS) plus a fixed allowance for the kernels' per-thread workspaces.
///
/// Mixed precision (`mixed_precision: bf16`, GPT) changes two parts: the blocks keep the inputs of
/// their linear layers as rounded operands (2 bytes an element natively, 4 emulated) and no
/// feed-forward activation output (`BlockActivations`), and `mixedPrecision` adds the bf16 copy of
/// the weights (all but the token embedding) and the matmul's rounded-operand scratch.
public struct MemoryPlan: Sendable, Equatable {
    /// Bytes of each part (see above).
    public var parameters = 0, gradients = 0, moments = 0, activations = 0, checkpoint = 0, communication = 0, baseline = 0
    /// The bf16 weight copy and rounded-operand scratch (0 in fp32).
    public var mixedPrecision = 0

    /// Bytes the rank will hold at its peak.
    public var total: Int { parameters + gradients + moments + activations + checkpoint + communication + mixedPrecision + baseline }
    /// What the plan adds to the process as it is now (everything but the baseline's measured part).
    public var added: Int { total - baseline + Self.workspaceAllowance }

    /// Kernels' per-thread scratch, OpenBLAS's buffers touched during the first steps, allocator slack.
    public static let workspaceAllowance = 32 << 20

    public init() {}

    /// The plan of a training run of `config` on `ranks` ranks; `baseline` is the process's resident
    /// memory now (`MemoryPlan.residentBytes()`).
    public init(config: RunConfig, ranks: Int, baseline: Int) {
        let t = config.training
        let count = ModelFamilies.family(of: config).parameterTable(config).count
        let world = max(1, ranks)
        parameters = 4 * count
        gradients = 4 * count
        let zero = world > 1 && t.zero1
        let bf16 = t.gradCompression == .bf16
        if zero {
            let piece = (count + world - 1) / world
            moments = 2 * 4 * piece + 4 * piece + (bf16 ? 2 * piece + 2 * max(1, Int(t.bucketMB * 1_048_576) / 4) : 0)
        } else {
            moments = 2 * 4 * count
        }
        if world > 1, bf16, !zero { communication = 2 * count }
        let operandBytes = Trainer.effectiveMixedPrecision(config.launch.mixedPrecision) == "bf16" && config.family.arch == .gpt ? BF16Matmul.plannedElementSize : nil
        activations = Self.activationBytes(config, operandBytes: operandBytes)
        if let operandBytes {
            mixedPrecision = Self.gptMixedPrecisionBytes(config.model, B: t.microBatch, T: t.seqLen, parameters: count, elementSize: operandBytes)
        }
        // This rank's share of parameters and moments, staged for the background write of a checkpoint.
        checkpoint = 3 * 4 * ((count + world - 1) / world)
        self.baseline = baseline + Self.workspaceAllowance
    }

    /// One process training a GPT of `c` on (B, T) batches with full AdamW moments and nothing else
    /// (what `pretrain bench step` runs); `bf16ElementSize` is the bf16 matmul's `elementSize` under
    /// mixed precision, nil in fp32.
    public init(gpt c: GPTConfig, B: Int, T: Int, baseline: Int, bf16ElementSize: Int? = nil) {
        let count = GPTLayout(config: c).count
        self.init(oneProcess: count, activations: Self.gptActivationBytes(c, B: B, T: T, operandBytes: bf16ElementSize), baseline: baseline)
        if let bf16ElementSize {
            mixedPrecision = Self.gptMixedPrecisionBytes(c, B: B, T: T, parameters: count, elementSize: bf16ElementSize)
        }
    }

    /// One process training a T5 of `c` on (B, S → T) batches with full AdamW moments and nothing else
    /// (what `pretrain bench step --preset t5-s` runs).
    public init(t5 c: T5Config, B: Int, S: Int, T: Int, baseline: Int) {
        self.init(oneProcess: T5Layout(config: c).count, activations: T5Activations.bytes(config: c, B: B, S: S, T: T), baseline: baseline)
    }

    /// One process with `count` parameters, their gradients and AdamW moments, and `activations` bytes.
    private init(oneProcess count: Int, activations: Int, baseline: Int) {
        parameters = 4 * count
        gradients = 4 * count
        moments = 2 * 4 * count
        self.activations = activations
        self.baseline = baseline + Self.workspaceAllowance
    }

    /// What mixed precision adds to a GPT of `c` (`parameters` in all) on (B, T) micro-batches with
    /// operands of `elementSize` bytes: the rounded weight copy (all but the token embedding, which
    /// is rounded per use), and the largest operands each scratch slot of `BF16Matmul` is grown to:
    /// a linear input or output-gradient chunk (at most `Linear.chunkElements`), a whole layer input
    /// for the weight gradient (N·max(4C, C)), a slice of the token-embedding head, and attention's
    /// Q, K, V, dout (N·C each) and weights (B·NH·T·T).
    public static func gptMixedPrecisionBytes(_ c: GPTConfig, B: Int, T: Int, parameters: Int, elementSize: Int) -> Int {
        let N = B * T, C = c.dModel, V = c.vocabSize, I = c.blockConfig.I, chunk = Linear.chunkElements
        let copy = parameters - V * C
        let linear = min(chunk, N * max(V, I, 3 * C)) + N * max(I, C) + min(chunk, V * C)
        let attention = 4 * N * C + B * c.nHead * T * T
        return elementSize * (copy + linear + attention)
    }

    /// Activation and scratch bytes of the model `config` trains, for its micro-batch and sequence
    /// length; `operandBytes` as for `BlockActivations` (a GPT under mixed precision).
    public static func activationBytes(_ config: RunConfig, operandBytes: Int? = nil) -> Int {
        let t = config.training
        switch config.family.arch {
        case .gpt: return gptActivationBytes(config.model, B: t.microBatch, T: t.seqLen, operandBytes: operandBytes)
        case .bert: return bertActivationBytes(config.bertConfig, B: t.microBatch, T: t.seqLen)
        case .t5:
            let f = config.family
            let T = SpanCorruption.lengths(inputsLength: t.seqLen, noiseDensity: f.noiseDensity, meanSpanLength: f.meanNoiseSpanLength).targets
            return T5Activations.bytes(config: config.t5Config, B: t.microBatch, S: t.seqLen, T: T)
        case .transformer: return TransformerActivations.bytes(config: config.transformerConfig, B: t.microBatch, S: t.seqLen, T: t.seqLen)
        }
    }

    /// Bytes `GPT(config:maxBatch: B, maxSeqLen: T)` allocates besides its parameters and gradients:
    /// its `GPTActivations` (floats and dropout masks), the position table and the token buffers.
    public static func gptActivationBytes(_ c: GPTConfig, B: Int, T: Int, operandBytes: Int? = nil) -> Int {
        let N = B * T
        let positions = c.positions == .sinusoidal ? c.maxSeqLen * c.dModel : 0
        let masks = (c.embeddingDropout > 0 ? N * c.dModel : 1) + blockMaskBytes(c.blockConfig, layers: c.nLayer, B: B, T: T)
        return 4 * (gptActivationFloats(c, B: B, T: T, operandBytes: operandBytes) + positions) + masks + 4 * (2 * N + 2 * B)
    }

    /// `GPTActivations(config: c, B: B, T: T, operandBytes:).floatCount`, computed without allocating.
    public static func gptActivationFloats(_ c: GPTConfig, B: Int, T: Int, operandBytes: Int? = nil) -> Int {
        let C = c.dModel, V = c.vocabSize, K = c.numLabels
        let N = B * T
        let globals: [Int] = [
            N * C,  // encoded
            N * C,  // lnf
            N, N,  // lnfMean, lnfRstd
            K > 0 ? 0 : N * V,  // logits
            K > 0 ? 0 : N,  // losses
            N * C, N * C, N * C,  // dResidual, dLN, dBranch
            K > 0 ? B * C : 0, K > 0 ? B * C : 0,  // pooled, dPooled
            B * K, B * K,  // sequenceLogits, sequenceProbs
            K > 0 ? B : 0,  // sequenceLosses
        ]
        return globals.reduce(0) { $0 + align($1) } + blockFloats(c.blockConfig, layers: c.nLayer, B: B, T: T, operandBytes: operandBytes)
    }

    /// Bytes `BERT(config:maxBatch: B, maxSeqLen: T)` allocates besides its parameters and gradients.
    public static func bertActivationBytes(_ c: BERTConfig, B: Int, T: Int) -> Int {
        let N = B * T
        let masks = max(1, c.hiddenDropout > 0 ? N * c.dModel + B * c.dModel : 0) + blockMaskBytes(c.blockConfig, layers: c.nLayer, B: B, T: T)
        return 4 * bertActivationFloats(c, B: B, T: T) + masks + 4 * (5 * N + B)
    }

    /// `BERTActivations(config: c, B: B, T: T).floatCount`, computed without allocating.
    public static func bertActivationFloats(_ c: BERTConfig, B: Int, T: Int) -> Int {
        let C = c.dModel, V = c.vocabSize, K = c.sequenceLabels
        let N = B * T
        // embedded, encoded, embMean, embRstd, lnf, lnfMean, lnfRstd, headIn, transform, transformGelu,
        // headLN, headMean, headRstd, logits, losses, cls, pooledPre, pooled, sequenceLogits,
        // sequenceLosses, dResidual, dLN, dHeadA, dHeadB, dCls, dBranch
        let globals: [Int] = [N * C, N * C, N, N, N * C, N, N, N * C, N * C, N * C, N * C, N, N, N * V, N,
                              B * C, B * C, B * C, B * max(2, K), B, N * C, N * C, N * C, N * C, B * C, N * C]
        return globals.reduce(0) { $0 + align($1) } + blockFloats(c.blockConfig, layers: c.nLayer, B: B, T: T)
    }

    /// Floats of `BlockActivations(config:layers:B:T:operandBytes:)` (self-attention blocks, no
    /// cross-attention): with `operandBytes`, the linear layers' inputs kept only as rounded operands
    /// (the attention output, and pre-norm's norm outputs) and no feed-forward activation output.
    static func blockFloats(_ c: BlockConfig, layers: Int, B: Int, T: Int, operandBytes: Int? = nil) -> Int {
        let N = B * T, C = c.C, D = c.D, I = c.I
        let dropping = c.attentionDropout > 0 ? 1 : 0
        let gated = c.gated ? 1 : 0
        let bytes = operandBytes ?? 4, pre = c.placement == .pre
        let operand = { (n: Int) in (n * bytes + 3) / 4 }
        let norm = pre ? operand(N * C) : N * C, act = operandBytes == nil ? N * I : 0
        let perLayer: [Int] = [
            norm, N, N, N * 3 * D, operand(N * D), B * c.NH * T * T, dropping * B * c.NH * T * T, N * C,  // self-attention
            norm, N, N, N * I, gated * N * I, act, N * C,  // feed-forward (cross-attention regions are 0)
        ]
        let scratch: [Int] = [N * 3 * D, N * D, B * c.NH * T * T, N * I, gated * N * I, N * I, N * C]
        return layers * perLayer.reduce(0) { $0 + align($1) } + scratch.reduce(0) { $0 + align($1) }
    }

    /// Residual-dropout keep-masks of the blocks (bytes).
    static func blockMaskBytes(_ c: BlockConfig, layers: Int, B: Int, T: Int) -> Int {
        max(1, (c.residualDropout > 0 ? B * T * c.C : 0) * 3 * layers)
    }

    /// Rounds up to 16 floats, as `BlockActivations.align` does for every region.
    static func align(_ n: Int) -> Int { (n + 15) & ~15 }

    // MARK: - What the rank may use

    /// What the host offers: MemAvailable, the cgroup's remaining room, and the ranks sharing them.
    public struct Budget: Sendable, Equatable {
        /// /proc/meminfo MemAvailable, bytes (nil when unreadable).
        public var memAvailable: Int?
        /// The cgroup limit minus its current use, bytes (nil when there is no limit).
        public var cgroupRoom: Int?
        /// The cgroup limit itself, bytes.
        public var cgroupLimit: Int?
        /// Ranks of this job on this host.
        public var localRanks: Int

        public init(memAvailable: Int?, cgroupRoom: Int?, cgroupLimit: Int?, localRanks: Int) {
            self.memAvailable = memAvailable
            self.cgroupRoom = cgroupRoom
            self.cgroupLimit = cgroupLimit
            self.localRanks = localRanks
        }

        /// Bytes each rank may add, or nil when nothing is known.
        public var perRank: Int? {
            let room = [memAvailable, cgroupRoom].compactMap { $0 }.min()
            return room.map { $0 / max(1, localRanks) }
        }

        /// Where the figure comes from, e.g. "MemAvailable 20.1 GiB ÷ 2 ranks on this host".
        public var source: String {
            var parts: [String] = []
            if let memAvailable { parts.append("MemAvailable \(MemoryPlan.gib(memAvailable))") }
            if let cgroupRoom, let cgroupLimit { parts.append("cgroup room \(MemoryPlan.gib(cgroupRoom)) of limit \(MemoryPlan.gib(cgroupLimit))") }
            return parts.joined(separator: ", ") + " ÷ \(localRanks) rank\(localRanks == 1 ? "" : "s") on this host"
        }

        /// This host now.
        public static func current(localRanks: Int) -> Budget {
            Budget(memAvailable: MemoryPlan.meminfo("MemAvailable"), cgroupRoom: cgroup().room, cgroupLimit: cgroup().limit, localRanks: localRanks)
        }

        static func cgroup() -> (limit: Int?, room: Int?) {
            func read(_ path: String) -> Int? {
                (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            // cgroup v2 (memory.max is "max" when unlimited), then v1 (a huge number when unlimited).
            if let limit = read("/sys/fs/cgroup/memory.max"), let used = read("/sys/fs/cgroup/memory.current") {
                return (limit, max(0, limit - used))
            }
            if let limit = read("/sys/fs/cgroup/memory/memory.limit_in_bytes"), limit < 1 << 60,
               let used = read("/sys/fs/cgroup/memory/memory.usage_in_bytes") {
                return (limit, max(0, limit - used))
            }
            return (nil, nil)
        }
    }

    /// Refuses a plan that does not fit `budget`: one line with the numbers and the levers.
    public func check(against budget: Budget, config: RunConfig, ranks: Int) throws {
        guard let room = budget.perRank, added > room else { return }
        throw TrainingError("not enough memory: each rank needs \(Self.gib(added)) more (\(breakdown)) but can use \(Self.gib(room)) "
                            + "(\(budget.source)); " + levers(config: config, ranks: ranks, localRanks: budget.localRanks), exitCode: 2)
    }

    /// What shrinks the plan, the levers of its bigger part (activations, or the model's state) first.
    public func levers(config: RunConfig, ranks: Int, localRanks: Int) -> String {
        let t = config.training
        let batch = ["lower training.micro_batch (\(t.microBatch); activations scale with it)", "training.seq_len (\(t.seqLen))"]
        var model: [String] = []
        if ranks > 1, !t.zero1 {
            // ZeRO-1 splits matrices between ranks, which Muon cannot take.
            let adamw = config.optimizer.kind == .muon ? "optimizer.kind: adamw and " : ""
            model.append("set \(adamw)training.zero1: true (moments ÷ \(ranks))")
        }
        model.append("a smaller model (model.n_layer \(config.model.nLayer), model.d_model \(config.model.dModel))")
        var levers = activations >= parameters + gradients + moments + checkpoint ? batch + model : model + batch
        if localRanks > 1 { levers.append("fewer ranks per host") }
        return levers.joined(separator: ", ")
    }

    /// "parameters 1.2 GiB, gradients …" (the parts that are not zero).
    public var breakdown: String {
        [("parameters", parameters), ("gradients", gradients), ("AdamW moments", moments), ("activations", activations),
         ("bf16 weights and operands", mixedPrecision), ("checkpoint staging", checkpoint), ("communication", communication)]
            .filter { $0.1 > 0 }.map { "\($0.0) \(Self.gib($0.1))" }.joined(separator: ", ")
    }

    /// The line for the run's header.
    public func summary(budget: Budget) -> String {
        "memory: \(Self.gib(total)) per rank planned (\(breakdown), process and workspaces \(Self.gib(baseline)))"
            + (budget.perRank.map { "; \(Self.gib($0)) available per rank (\(budget.source))" } ?? "")
    }

    /// Bytes as "1.23 GiB" or "456.7 MiB".
    public static func gib(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    /// A /proc/meminfo field in bytes.
    static func meminfo(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// This process's resident memory now (VmRSS), bytes; 0 where /proc is unavailable.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }
}

extension MemoryPlan {
    /// Collective: every rank reads its host's budget, the ranks agree on the smallest room (no rank has
    /// allocated yet when any of them reads), and every rank throws the same refusal if it does not fit.
    public static func checked(_ config: RunConfig, comm: any Communicator) throws -> (plan: MemoryPlan, budget: Budget) {
        let plan = MemoryPlan(config: config, ranks: comm.size, baseline: residentBytes())
        var budget = Budget.current(localRanks: comm.localSize)
        if comm.size > 1 {
            var room = [budget.perRank ?? Int.max]
            try room.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .min) }
            if room[0] != Int.max, room[0] < (budget.perRank ?? Int.max) {
                // Another host is tighter: report its figure as this host's.
                budget = Budget(memAvailable: room[0] * budget.localRanks, cgroupRoom: nil, cgroupLimit: nil, localRanks: budget.localRanks)
            }
        }
        try plan.check(against: budget, config: config, ranks: comm.size)
        return (plan, budget)
    }

    /// Collective: runs `allocate` on every rank and returns its result when every rank succeeded; when
    /// any rank could not allocate, every rank throws the failure of `agreeOnAllocation`.
    public static func agreeing<T>(_ config: RunConfig, comm: any Communicator, _ allocate: () throws -> T) throws -> T {
        let result: T
        do { result = try allocate() } catch let error as AllocationError {
            try agreeOnAllocation(error, config: config, comm: comm)
            throw error
        }
        try agreeOnAllocation(nil, config: config, comm: comm)
        return result
    }

    /// Collective, after this rank allocated (`failure` nil) or failed to (the system refused although
    /// the plan fit: `ulimit -v`, or memory other processes took since): every rank learns whether any
    /// rank failed and throws the same `StartupChecks.Failure`, spoken by the lowest rank that failed,
    /// naming the bytes and the config's levers. No rank is left waiting in a collective.
    public static func agreeOnAllocation(_ failure: AllocationError?, config: RunConfig, comm: any Communicator) throws {
        var failed = [Int32(failure == nil ? 0 : comm.size - comm.rank)]
        if comm.size > 1 { try failed.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .max) } }
        guard failed[0] > 0 else { return }
        let speaker = comm.size - Int(failed[0])
        let plan = MemoryPlan(config: config, ranks: comm.size, baseline: 0)
        let text = "\(failure?.what ?? "") although the memory plan fit (\(plan.breakdown)); \(AllocationError.cause); "
            + plan.levers(config: config, ranks: comm.size, localRanks: comm.localSize)
        throw StartupChecks.Failure(message: speaker == 0 ? text : "rank \(speaker): \(text)", report: speaker == comm.rank)
    }
}
