import Model

/// The table of every YAML key: its path, help text, type, range and the `RunConfig` field it sets.
///
/// Defaults are read from `RunConfig()`, so they are stated once. Launch keys sit at the top level,
/// exactly where `accelerate config` writes them; the training part lives in sections.
public enum ConfigSchema {
    /// One key of the file.
    public struct Key: Sendable {
        /// Dotted path, e.g. `optimizer.lr` or `num_processes`.
        public let path: String
        /// What it means (one line).
        public let help: String
        let field: Field
    }

    /// The field behind a key: its Swift type, accepted values and where it lives in `RunConfig`.
    enum Field: @unchecked Sendable {
        case int(WritableKeyPath<RunConfig, Int>, ClosedRange<Int>)
        case float(WritableKeyPath<RunConfig, Float>, ClosedRange<Double>)
        case double(WritableKeyPath<RunConfig, Double>, ClosedRange<Double>)
        case bool(WritableKeyPath<RunConfig, Bool>)
        case string(WritableKeyPath<RunConfig, String>)
        case choice(WritableKeyPath<RunConfig, String>, [String])
        /// An enum field: its names, and how to read and write it as text.
        case option(names: [String], get: (RunConfig) -> String, set: (inout RunConfig, String) -> Void)

        /// The field of an enum-typed key.
        static func option<E: ConfigChoice>(_ kp: WritableKeyPath<RunConfig, E>) -> Field {
            .option(names: E.allCases.map(\.rawValue), get: { $0[keyPath: kp].rawValue },
                    set: { config, name in if let value = E(rawValue: name) { config[keyPath: kp] = value } })
        }

        /// Whether the value is text (a string key), where '' is a value of its own.
        var isText: Bool {
            if case .string = self { return true }
            return false
        }

        var typeName: String {
            switch self {
            case let .int(_, r): "integer in \(r.lowerBound)…\(r.upperBound == Int.max ? "∞" : "\(r.upperBound)")"
            case let .float(_, r), let .double(_, r): "number in \(r.lowerBound)…\(r.upperBound == .infinity ? "∞" : "\(r.upperBound)")"
            case .bool: "true or false"
            case .string: "string"
            case let .choice(_, options), let .option(options, _, _): "one of " + options.joined(separator: ", ")
            }
        }
    }

    /// The largest count any key takes: 2³¹ − 1, so that products of two counts (micro_batch × ranks,
    /// steps × global_batch) cannot overflow; `checkSizes` bounds the larger products.
    static let big = Int(Int32.max)
    /// Every key, in the order `--explain` and the resolved dump print them.
    public static let keys: [Key] = [
        // Launch: Hugging Face Accelerate's keys.
        Key(path: "compute_environment", help: "where the job runs (Accelerate key; only LOCAL_MACHINE)", field: .choice(\.launch.computeEnvironment, ["LOCAL_MACHINE"])),
        Key(path: "distributed_type", help: "MULTI_CPU: data-parallel over MPI processes; NO: one process", field: .choice(\.launch.distributedType, ["MULTI_CPU", "NO"])),
        Key(path: "num_processes", help: "total ranks across all machines", field: .int(\.launch.numProcesses, 1...big)),
        Key(path: "num_machines", help: "machines (nodes) the ranks are spread over", field: .int(\.launch.numMachines, 1...big)),
        Key(path: "machine_rank", help: "this machine's index (Accelerate key; mpirun assigns ranks itself)", field: .int(\.launch.machineRank, 0...big)),
        Key(path: "main_process_ip", help: "address of the first machine (multi-machine runs)", field: .string(\.launch.mainProcessIP)),
        Key(path: "main_process_port", help: "port on the first machine", field: .int(\.launch.mainProcessPort, 1...65535)),
        Key(path: "mixed_precision", help: "'no' (fp32), 'bf16', or 'auto' (bf16 where the CPU has avx512_bf16 or AMX, else fp32): with bf16 every linear layer and attention's matrix products multiply bf16 operands with fp32 accumulation (softmax, norms, the loss stay fp32; oneDNN where the CPU has bf16, else emulated, slower than fp32); weights, gradients, AdamW and checkpoints stay fp32", field: .choice(\.launch.mixedPrecision, ["no", "bf16", "auto"])),
        Key(path: "use_cpu", help: "always true here: training runs on CPUs", field: .bool(\.launch.useCPU)),
        Key(path: "enable_cpu_affinity", help: "bind each rank to its own cores", field: .bool(\.launch.enableCPUAffinity)),
        Key(path: "threads_per_process", help: "compute threads per rank; 0 = cores on the host ÷ ranks on the host", field: .int(\.launch.threadsPerProcess, 0...4096)),
        Key(path: "mpirun_config.mpirun_hostfile", help: "hostfile for multi-machine runs (mpirun --hostfile)", field: .string(\.launch.mpirunHostfile)),
        Key(path: "debug", help: "extra checks and verbose launch output", field: .bool(\.launch.debug)),
        // Model.
        Key(path: "model.arch", help: "gpt (decoder, causal LM), bert (encoder, masked LM), t5 (encoder-decoder, span corruption) or transformer (\"Attention Is All You Need\", torch.nn.Transformer, on source/target pairs: defaults d_model 512, n_head 8, n_layer 6, num_decoder_layers 6, intermediate_size 2048, residual_dropout 0.1, label_smoothing 0.1 in the paper)", field: .option(\.family.arch)),
        Key(path: "model.preset", help: "a named size: \([ModelPreset.tiny, .small, .gpt2].map(\.summary).joined(separator: ", ")) sets vocab_size, max_seq_len, n_layer, n_head and d_model; keys given beside it win (none = each key's default, tiny's shape)", field: .option(\.modelPreset)),
        Key(path: "model.vocab_size", help: "V: vocabulary size (≥ the tokenizer's)", field: .int(\.model.vocabSize, 1...big)),
        Key(path: "model.max_seq_len", help: "P: rows of the position table (longest sequence)", field: .int(\.model.maxSeqLen, 1...big)),
        Key(path: "model.n_layer", help: "L: transformer blocks", field: .int(\.model.nLayer, 1...big)),
        Key(path: "model.n_head", help: "NH: attention heads (must divide d_model)", field: .int(\.model.nHead, 1...big)),
        Key(path: "model.d_model", help: "C: model width", field: .int(\.model.dModel, 1...big)),
        Key(path: "model.positions", help: "learned (GPT-2) or sinusoidal (Vaswani et al.); transformer: always sinusoidal", field: .option(\.model.positions)),
        Key(path: "model.embedding_dropout", help: "dropout after the embeddings (0 = off)", field: .float(\.model.embeddingDropout, 0...0.999)),
        Key(path: "model.residual_dropout", help: "dropout on each residual branch (0 = off); transformer: nn.Transformer's one dropout (embeddings, sublayers, attention, feed-forward; the paper's 0.1)", field: .float(\.model.residualDropout, 0...0.999)),
        Key(path: "model.attention_dropout", help: "dropout on the attention weights (0 = off)", field: .float(\.model.attentionDropout, 0...0.999)),
        Key(path: "model.label_smoothing", help: "label smoothing ε of the loss (0 = off; transformer: the paper's 0.1)", field: .float(\.model.labelSmoothing, 0...0.999)),
        Key(path: "model.layer_norm_eps", help: "LayerNorm epsilon", field: .float(\.model.layerNormEps, 1e-12...1)),
        Key(path: "model.norm", help: "auto, post (BERT: LayerNorm after each residual add) or pre (LayerNorm first; GPT is always pre)", field: .option(\.family.norm)),
        Key(path: "model.nsp", help: "bert: add the pooler and the next-sentence-prediction objective", field: .bool(\.family.nsp)),
        Key(path: "model.intermediate_size", help: "bert, t5 (d_ff), transformer (dim_feedforward): feed-forward width I (0 = 4 × d_model)", field: .int(\.family.intermediateSize, 0...big)),
        Key(path: "model.type_vocab_size", help: "bert: segment (token-type) embeddings", field: .int(\.family.typeVocabSize, 1...big)),
        Key(path: "model.d_kv", help: "t5: size of each attention head (0 = d_model / n_head)", field: .int(\.family.dKV, 0...big)),
        Key(path: "model.num_decoder_layers", help: "t5, transformer: decoder layers (0 = n_layer, the encoder's)", field: .int(\.family.numDecoderLayers, 0...big)),
        Key(path: "model.relative_attention_num_buckets", help: "t5: buckets of the relative position bias", field: .int(\.family.relativeAttentionNumBuckets, 4...big)),
        Key(path: "model.relative_attention_max_distance", help: "t5: distance from which positions share the last bucket", field: .int(\.family.relativeAttentionMaxDistance, 1...big)),
        Key(path: "model.feed_forward_proj", help: "t5: relu (T5 v1.0) or gated-gelu (T5 v1.1, Flan-T5)", field: .option(\.family.feedForwardProj)),
        Key(path: "model.tie_word_embeddings", help: "t5: the LM head is the shared embedding (decoder output scaled by d_model^-0.5)", field: .bool(\.family.tieWordEmbeddings)),
        Key(path: "model.num_labels", help: "K > 0 = a sequence classifier with K labels (bert: on the pooled [CLS]; gpt: on the last token; set by `pretrain finetune`; 0 = the pretraining heads)", field: .int(\.family.numLabels, 0...big)),
        Key(path: "model.label_names", help: "classifier: label names in id order, comma-separated (set by `pretrain finetune`)", field: .string(\.family.labelNames)),
        // Data.
        Key(path: "data.train", help: "training token shards: a file, a directory or a glob; transformer: a JSON-lines file of {\"source\", \"target\"} pairs", field: .string(\.data.train)),
        Key(path: "data.val", help: "validation token shards (empty = no evaluation); transformer: a JSON-lines pair file", field: .string(\.data.val)),
        Key(path: "data.tokenizer", help: "tokenizer.json written by `pretrain data prepare`", field: .string(\.data.tokenizer)),
        Key(path: "data.source_prefix", help: "seq2seq: task prefix before each source, e.g. 'translate English to German: ' (set by `pretrain finetune --prefix`)", field: .string(\.data.sourcePrefix)),
        Key(path: "data.shuffle", help: "shuffle shard and sample order each epoch (seeded)", field: .bool(\.data.shuffle)),
        // Optimizer.
        Key(path: "optimizer.kind", help: "adamw, or muon: Muon (torch.optim.Muon, Nesterov, update RMS matched to AdamW's, so lr and weight_decay carry over) for the transformer blocks' weight matrices, AdamW for embeddings, heads, norms and biases", field: .option(\.optimizer.kind)),
        Key(path: "optimizer.lr", help: "peak learning rate", field: .float(\.optimizer.lr, 0...10)),
        Key(path: "optimizer.beta1", help: "AdamW β1", field: .float(\.optimizer.beta1, 0...0.999999)),
        Key(path: "optimizer.beta2", help: "AdamW β2", field: .float(\.optimizer.beta2, 0...0.999999)),
        Key(path: "optimizer.eps", help: "AdamW ε (outside the square root, as PyTorch)", field: .float(\.optimizer.eps, 0...1)),
        Key(path: "optimizer.weight_decay", help: "decoupled weight decay on ≥2-D weights", field: .float(\.optimizer.weightDecay, 0...10)),
        Key(path: "optimizer.muon_momentum", help: "Muon's momentum (optimizer.kind: muon)", field: .float(\.optimizer.muonMomentum, 0...0.999999)),
        Key(path: "optimizer.grad_clip", help: "global gradient-norm clip (0 = off)", field: .float(\.optimizer.gradClip, 0...1e6)),
        // Schedule.
        Key(path: "schedule.kind", help: "cosine (warmup + cosine to a floor), constant, or noam", field: .option(\.schedule.kind)),
        Key(path: "schedule.warmup_steps", help: "linear warmup steps (cosine, noam)", field: .int(\.schedule.warmupSteps, 0...big)),
        Key(path: "schedule.min_lr_ratio", help: "cosine floor as a fraction of optimizer.lr", field: .float(\.schedule.minLRRatio, 0...1)),
        Key(path: "schedule.noam_scale", help: "noam: multiplier of d_model^-0.5·min(step^-0.5, step·warmup^-1.5)", field: .float(\.schedule.noamScale, 0...1e6)),
        // Training.
        Key(path: "training.objective", help: "auto, clm (next-token, gpt), mlm (masked tokens, bert), span_corruption (t5) or seq2seq (transformer, on pairs); auto follows model.arch", field: .option(\.family.objective)),
        Key(path: "training.mask_rate", help: "mlm: share of non-special tokens chosen per sequence (80 % [MASK], 10 % random, 10 % kept)", field: .double(\.family.maskRate, 0.001...0.999)),
        Key(path: "training.noise_density", help: "span_corruption: share of tokens dropped", field: .double(\.family.noiseDensity, 0.001...0.999)),
        Key(path: "training.mean_noise_span_length", help: "span_corruption: mean length of a dropped span", field: .double(\.family.meanNoiseSpanLength, 1...1e6)),
        Key(path: "training.steps", help: "optimizer steps to run", field: .int(\.training.steps, 1...big)),
        Key(path: "training.micro_batch", help: "B: sequences per rank per forward/backward", field: .int(\.training.microBatch, 1...big)),
        Key(path: "training.seq_len", help: "T: tokens per sequence (≤ model.max_seq_len); transformer: the longest source and the longest target, EOS included (longer ones are cut, with a notice)", field: .int(\.training.seqLen, 1...big)),
        Key(path: "training.target_len", help: "seq2seq: target tokens per pair with EOS (0 = seq_len; set by `pretrain finetune --target-len`)", field: .int(\.training.targetLen, 0...big)),
        Key(path: "training.global_batch", help: "sequences per optimizer step over all ranks, kept on any number of ranks (micro_batch is lowered to fit, with a notice); 0 = micro_batch × accumulation × ranks", field: .int(\.training.globalBatch, 0...big)),
        Key(path: "training.gradient_accumulation_steps", help: "micro-batches per rank per step (derived from global_batch when that is set)", field: .int(\.training.gradientAccumulationSteps, 1...big)),
        Key(path: "training.seed", help: "seed of weights, shuffling and dropout", field: .int(\.training.seed, 0...Int.max)),
        Key(path: "training.eval_interval", help: "evaluate every N steps (0 = only at the end)", field: .int(\.training.evalInterval, 0...big)),
        Key(path: "training.eval_steps", help: "validation batches per evaluation", field: .int(\.training.evalSteps, 1...big)),
        Key(path: "training.bucket_mb", help: "gradient allreduce bucket size in MiB", field: .double(\.training.bucketMB, 0.001...65536)),
        Key(path: "training.zero1", help: "shard AdamW moments across ranks (ZeRO stage 1)", field: .bool(\.training.zero1)),
        Key(path: "training.grad_compression", help: "none, or bf16: allreduce gradients in bfloat16", field: .option(\.training.gradCompression)),
        Key(path: "training.checksum_interval", help: "compare a parameter checksum across ranks every N steps (0 = off)", field: .int(\.training.checksumInterval, 0...big)),
        Key(path: "training.watchdog_seconds", help: "abort when a collective stalls this long", field: .double(\.training.watchdogSeconds, 1...1e7)),
        Key(path: "training.max_bad_steps", help: "stop after this many consecutive non-finite steps", field: .int(\.training.maxBadSteps, 1...big)),
        // Checkpoints.
        Key(path: "checkpoint.dir", help: "directory of step-NNNNNNNN checkpoints ('' = <logging.run_dir>/checkpoints)", field: .string(\.checkpoint.dir)),
        Key(path: "checkpoint.every", help: "save every N steps, asynchronously (0 = only at the end; a run always saves at its end)", field: .int(\.checkpoint.every, 0...big)),
        Key(path: "checkpoint.keep_last", help: "keep the newest K complete checkpoints (the newest is never removed)", field: .int(\.checkpoint.keepLast, 1...big)),
        Key(path: "checkpoint.compression", help: "zstd (byte-plane shuffled float32) or none (raw float32)", field: .choice(\.checkpoint.compression, ["zstd", "none"])),
        Key(path: "checkpoint.level", help: "zstd level: negative = zstd's fast modes, 1..22 = stronger and slower", field: .int(\.checkpoint.level, -7...22)),
        Key(path: "checkpoint.threads", help: "zstd worker threads per rank (0 = compress on the rank's background writer thread)", field: .int(\.checkpoint.threads, 0...256)),
        // Logging.
        Key(path: "logging.run_dir", help: "metrics, plots and traces go here", field: .string(\.logging.runDir)),
        Key(path: "logging.interval", help: "print a line every N steps", field: .int(\.logging.interval, 1...big)),
        Key(path: "logging.timeline", help: "write a Chrome trace per rank", field: .bool(\.logging.timeline)),
    ]

    /// Keys by path.
    public static let byPath: [String: Key] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })

    /// Other names accepted for a key (Accelerate's spelling first).
    public static let aliases: [String: String] = [
        "num_cpu_threads_per_process": "threads_per_process",
        "training.gradient_accumulation": "training.gradient_accumulation_steps",
        // Hugging Face / Accelerate's top-level name (a file's top level or `--set`); given beside
        // training.gradient_accumulation_steps, the two must agree.
        "gradient_accumulation_steps": "training.gradient_accumulation_steps",
        // T5Config's names for the shared keys.
        "model.num_layers": "model.n_layer",
        "model.num_heads": "model.n_head",
        "model.d_ff": "model.intermediate_size",
        "model.dropout_rate": "model.residual_dropout",
        // torch.nn.Transformer's argument names (model.arch transformer).
        "model.nhead": "model.n_head",
        "model.num_encoder_layers": "model.n_layer",
        "model.dim_feedforward": "model.intermediate_size",
        "model.dropout": "model.residual_dropout",
    ]

    /// Hugging Face `TrainingArguments` / Accelerate names and the key that means the same here:
    /// an unknown key whose last part is one of them is answered with that key (in any section).
    public static let huggingFaceNames: [String: String] = [
        "max_steps": "training.steps", "learning_rate": "optimizer.lr", "per_device_train_batch_size": "training.micro_batch",
        "gradient_accumulation_steps": "training.gradient_accumulation_steps", "warmup_steps": "schedule.warmup_steps",
        "weight_decay": "optimizer.weight_decay", "seed": "training.seed", "output_dir": "logging.run_dir",
        "max_grad_norm": "optimizer.grad_clip", "adam_beta1": "optimizer.beta1", "adam_beta2": "optimizer.beta2",
        "adam_epsilon": "optimizer.eps", "lr_scheduler_type": "schedule.kind", "logging_steps": "logging.interval",
        "save_steps": "checkpoint.every", "save_total_limit": "checkpoint.keep_last", "max_seq_length": "training.seq_len",
        "total_batch_size": "training.global_batch",
    ]

    /// The sections (first path component of nested keys).
    public static var sections: Set<String> { Set(keys.compactMap { $0.path.contains(".") ? String($0.path.split(separator: ".")[0]) : nil }) }

    /// Accelerate keys with no meaning here: accepted with a one-line notice.
    public static let acceleratePassThrough: Set<String> = [
        "gpu_ids", "downcast_bf16", "main_training_function", "rdzv_backend", "same_network", "dynamo_config",
        "fsdp_config", "deepspeed_config", "megatron_lm_config", "ipex_config", "mpirun_config.mpirun_ccl",
        "tpu_env", "tpu_use_cluster", "tpu_use_sudo", "tpu_name", "tpu_zone", "commands", "command_file",
        "use_mps_device", "num_gpus", "parallelism_config", "fp8_config",
    ]
}

extension ConfigSchema.Key {
    /// Parses `text` for this key and stores it in `config`; `origin` names where the text came from.
    func set(_ text: String, in config: inout RunConfig, origin: String) throws {
        func bad(_ detail: String = "") -> ConfigError {
            ConfigError("\(origin): \(path) is \(text.isEmpty ? "empty" : "'\(text)'"); expected \(field.typeName)\(detail)")
        }
        switch field {
        case let .int(kp, range):
            let cleaned = text.replacingOccurrences(of: "_", with: "")
            guard let v = Int(cleaned) else {
                // 1e3 or 1000.0: a float where an integer belongs; say how to write it.
                if let d = Double(cleaned), d.isFinite, d == d.rounded(), abs(d) < 9e15 {
                    throw bad("; write it as the integer \(Int(d))")
                }
                throw bad()
            }
            guard range.contains(v) else { throw bad() }
            config[keyPath: kp] = v
        case let .float(kp, range):
            guard let v = Double(text), v.isFinite, range.contains(v) else { throw bad() }
            config[keyPath: kp] = Float(v)
        case let .double(kp, range):
            guard let v = Double(text), v.isFinite, range.contains(v) else { throw bad() }
            config[keyPath: kp] = v
        case let .bool(kp):
            switch text.lowercased() {
            case "true", "yes", "on", "1": config[keyPath: kp] = true
            case "false", "no", "off", "0": config[keyPath: kp] = false
            default: throw bad()
            }
        case let .string(kp):
            config[keyPath: kp] = text
        case let .choice(kp, options):
            config[keyPath: kp] = try Self.match(text, in: options, bad)
        case let .option(options, _, set):
            set(&config, try Self.match(text, in: options, bad))
        }
    }

    /// The key's current value in `config`, as YAML text.
    func render(_ config: RunConfig) -> String {
        switch field {
        case let .int(kp, _): "\(config[keyPath: kp])"
        case let .float(kp, _): "\(config[keyPath: kp])"
        case let .double(kp, _): "\(config[keyPath: kp])"
        case let .bool(kp): "\(config[keyPath: kp])"
        case let .string(kp), let .choice(kp, _):
            Self.quote(config[keyPath: kp])
        case let .option(_, get, _): get(config)
        }
    }

    /// The name in `options` that `text` spells (case-insensitively), or `bad` with a did-you-mean hint.
    static func match(_ text: String, in options: [String], _ bad: (String) -> ConfigError) throws -> String {
        guard let match = options.first(where: { $0.lowercased() == text.lowercased() }) else {
            throw bad(EditDistance.nearest(to: text, in: options).map { " (did you mean \($0)?)" } ?? "")
        }
        return match
    }

    static func quote(_ s: String) -> String {
        let plain = !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || "_-./".contains($0) }
            && !["no", "yes", "true", "false", "on", "off", "null"].contains(s.lowercased()) && Double(s) == nil
        return plain ? s : "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
