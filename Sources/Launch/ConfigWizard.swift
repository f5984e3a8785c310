import Config
import Foundation

/// The questions of `pretrain config`, like `accelerate config`: each has a default taken from the
/// detected machine (cores, mpirun, Slurm) and is checked with the same rules as the YAML file, asking
/// again until the answer is valid.
///
/// Input and output are functions, so the wizard runs the same on a terminal, on piped answers
/// (`pretrain config < answers.txt`) and in tests.
public struct ConfigWizard {
    let environment: LaunchEnvironment
    let input: () -> String?
    let output: (String) -> Void

    /// A wizard for `environment` reading answers from `input` (nil = no more input) and writing to `output`.
    public init(environment: LaunchEnvironment, input: @escaping () -> String?, output: @escaping (String) -> Void) {
        self.environment = environment
        self.input = input
        self.output = output
    }

    /// Processes per machine suggested for `cores`: one per core up to 4 cores, else one per 4 cores.
    public static func suggestedProcesses(cores: Int) -> Int {
        cores <= 4 ? max(1, cores) : max(1, cores / 4)
    }

    /// Asks every question, starting from `config`'s values, and returns the validated answers.
    public func run(starting config: RunConfig) throws -> RunConfig {
        var c = config
        let cores = environment.logicalCores
        let mpirun = environment.findProgram("mpirun")
        output("swift-pretrain config: press Enter to accept the [default].")
        output("This machine: \(cores) cores (\(environment.physicalCores) physical); mpirun: \(mpirun ?? "not found (install openmpi-bin to run more than one process)")"
               + (environment.slurm.map { "; inside Slurm job \($0.jobID)" } ?? (environment.findProgram("sbatch") != nil ? "; Slurm's sbatch is available (see cluster/slurm.sbatch)" : "")))
        c.launch.computeEnvironment = "LOCAL_MACHINE"

        let machines = try integer("How many machines (nodes) will the run use?", "\(c.launch.numMachines)", key: "num_machines", &c)
        if machines > 1 {
            let hostfile = try ask("Hostfile listing the machines (one `host slots=N` line each)?",
                                   c.launch.mpirunHostfile.isEmpty ? "cluster/hostfile" : c.launch.mpirunHostfile, key: "mpirun_config.mpirun_hostfile", &c)
            if !FileManager.default.fileExists(atPath: hostfile) {
                output("  note: \(hostfile) does not exist yet; write it before `pretrain launch` (see cluster/hostfile.example)")
            }
        } else {
            c.launch.mpirunHostfile = ""
        }
        let perMachine = mpirun == nil && machines == 1 ? 1 : Self.suggestedProcesses(cores: cores)
        let processes = try integer("How many processes (ranks) in total, over all machines?", "\(perMachine * machines)", key: "num_processes", &c)
        c.launch.distributedType = processes == 1 ? "NO" : "MULTI_CPU"
        if processes > 1, mpirun == nil {
            output("  note: mpirun is not installed here; `pretrain launch` needs it (apt-get install openmpi-bin)")
        }
        let autoThreads = max(1, cores / max(1, processes / machines))
        _ = try ask("Compute threads per process? (0 = cores ÷ processes on each machine, here \(autoThreads))", "\(c.launch.threadsPerProcess)", key: "threads_per_process", &c)
        _ = try ask("Bind each process to its own cores (enable_cpu_affinity)? yes/no", c.launch.enableCPUAffinity ? "yes" : "no", key: "enable_cpu_affinity", &c)

        _ = try ask("Architecture: gpt (decoder, causal LM) or bert (encoder, masked LM)?", c.family.arch.rawValue, key: "model.arch", &c)
        let sizes = ModelPreset.allCases.filter { $0 != .none }
        let size = try choice("Model size: \(sizes.map(\.summary).joined(separator: ", ")) or custom?", sizes.map(\.rawValue) + ["custom"], "tiny")
        if let preset = ModelPreset(rawValue: size) {
            // tiny's settings are configs/tiny.yaml's; the questions below start from them.
            for setting in ["model.preset=\(size)"] + preset.runSettings { try ConfigLoader.apply(override: setting, to: &c) }
        } else {
            c.modelPreset = .none
            _ = try ask("Vocabulary size (≥ the tokenizer's)?", "\(c.model.vocabSize)", key: "model.vocab_size", &c)
            _ = try ask("Transformer layers?", "\(c.model.nLayer)", key: "model.n_layer", &c)
            // The shape's parts must fit together: ask the group again until they do.
            while true {
                _ = try ask("Model width (d_model)?", "\(c.model.dModel)", key: "model.d_model", &c)
                _ = try ask("Attention heads (must divide d_model)?", "\(c.model.nHead)", key: "model.n_head", &c)
                _ = try ask("Longest sequence (max_seq_len)?", "\(c.model.maxSeqLen)", key: "model.max_seq_len", &c)
                _ = try ask("Tokens per training sequence (seq_len, ≤ max_seq_len)?", "\(min(c.training.seqLen, c.model.maxSeqLen))", key: "training.seq_len", &c)
                do {
                    try ConfigLoader.validate(c, origin: "answer")
                    break
                } catch let error as ConfigError {
                    output("  " + error.message)
                }
            }
        }
        // After the size: tiny's default is configs/tiny.yaml's auto.
        _ = try ask("Mixed precision? no/bf16/auto", c.launch.mixedPrecision, key: "mixed_precision", &c)
        _ = try ask("Training token shards (file, directory or glob)?", c.data.train, key: "data.train", &c)
        _ = try ask("Validation token shards (empty = none)?", c.data.val, key: "data.val", &c)
        _ = try ask("Tokenizer (tokenizer.json from `pretrain data prepare`; '' = none)?", c.data.tokenizer, key: "data.tokenizer", &c)
        _ = try ask("Optimizer steps?", "\(c.training.steps)", key: "training.steps", &c)
        _ = try ask("Sequences per process per micro-step (micro_batch)?", "\(c.training.microBatch)", key: "training.micro_batch", &c)
        while true {
            _ = try ask("Sequences per optimizer step over all processes (global_batch; 0 = micro_batch × processes)?",
                        "\(c.training.globalBatch)", key: "training.global_batch", &c)
            do {
                _ = try ConfigLoader.accumulationSteps(c, worldSize: processes, origin: "answer")
                break
            } catch let error as ConfigError {
                output("  " + error.message)
            }
        }
        _ = try ask("Peak learning rate?", "\(c.optimizer.lr)", key: "optimizer.lr", &c)
        _ = try ask("Run directory (metrics, logs)?", c.logging.runDir, key: "logging.run_dir", &c)
        do { try ConfigLoader.validate(c, origin: "answers") } catch let error as ConfigError {
            throw LaunchError(error.message)
        }
        return c
    }

    /// Asks until the answer is valid for `key`; returns the accepted text.
    private func ask(_ text: String, _ fallback: String, key: String, _ c: inout RunConfig) throws -> String {
        while true {
            let answer = try read(text, fallback)
            do {
                try ConfigLoader.apply(override: "\(key)=\(answer)", to: &c)
                return answer
            } catch let error as ConfigError {
                // The loader names the origin of an override as "--set"; here it was an answer.
                output("  " + (error.message.hasPrefix("--set: ") ? String(error.message.dropFirst(7)) : error.message))
            }
        }
    }

    private func integer(_ text: String, _ fallback: String, key: String, _ c: inout RunConfig) throws -> Int {
        let answer = try ask(text, fallback, key: key, &c)
        return Int(answer.replacingOccurrences(of: "_", with: "")) ?? Int(Double(answer) ?? 1)
    }

    private func choice(_ text: String, _ options: [String], _ fallback: String) throws -> String {
        while true {
            let answer = try read(text, fallback).lowercased()
            if options.contains(answer) { return answer }
            let hint = EditDistance.nearest(to: answer, in: options).map { " (did you mean \($0)?)" } ?? ""
            output("  '\(answer)' is not one of \(options.joined(separator: ", "))\(hint)")
        }
    }

    private func read(_ text: String, _ fallback: String) throws -> String {
        output("\(text) [\(fallback)]")
        guard let line = input() else {
            throw LaunchError("input ended before every question was answered (at: \(text)); answer each question on its own line, or use `pretrain config --defaults --out FILE`")
        }
        let answer = line.trimmingCharacters(in: .whitespaces)
        return answer.isEmpty ? fallback : answer
    }

}
