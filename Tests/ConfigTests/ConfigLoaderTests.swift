import Config
import Foundation
import Model
import XCTest

/// YAML → RunConfig: values, Accelerate compatibility, overrides and every kind of bad input.
final class ConfigLoaderTests: XCTestCase {
    func load(_ yaml: String, overrides: [String] = [], notices: inout [String]) throws -> RunConfig {
        var config = RunConfig()
        var collected: [String] = []
        try ConfigLoader.apply(yaml: yaml, file: "run.yaml", to: &config, notice: { collected.append($0) })
        for o in overrides { try ConfigLoader.apply(override: o, to: &config) }
        try ConfigLoader.validate(config, origin: "run.yaml")
        notices = collected
        return config
    }

    func error(_ yaml: String, overrides: [String] = []) -> String {
        var n: [String] = []
        do { _ = try load(yaml, overrides: overrides, notices: &n); return "" } catch { return "\(error)" }
    }

    func testSectionsSetTheirFields() throws {
        var n: [String] = []
        let c = try load("""
        num_processes: 4
        model:
          n_layer: 3
          d_model: 96
          n_head: 4
          positions: sinusoidal
        optimizer:
          lr: 6e-4
        training:
          micro_batch: 2
          global_batch: 16
          zero1: yes
        """, notices: &n)
        XCTAssertEqual(c.launch.numProcesses, 4)
        XCTAssertEqual(c.model.nLayer, 3)
        XCTAssertEqual(c.model.dModel, 96)
        XCTAssertEqual(c.model.positions, .sinusoidal)
        XCTAssertEqual(c.optimizer.lr, 6e-4)
        XCTAssertTrue(c.training.zero1)
        XCTAssertEqual(try ConfigLoader.accumulationSteps(c, worldSize: 4), 2)  // 16 / (2 × 4)
        XCTAssertEqual(c.training.steps, RunConfig().training.steps, "unset keys keep their defaults")
    }

    func testAccelerateDefaultConfigIsAcceptedWithNotices() throws {
        // What `accelerate config` writes for a multi-CPU machine.
        var notices: [String] = []
        let c = try load("""
        compute_environment: LOCAL_MACHINE
        debug: false
        distributed_type: MULTI_CPU
        downcast_bf16: 'no'
        enable_cpu_affinity: false
        gpu_ids: all
        ipex_config:
          ipex: false
        machine_rank: 0
        main_process_ip: null
        main_process_port: null
        main_training_function: main
        mixed_precision: 'no'
        mpirun_config:
          mpirun_ccl: '1'
          mpirun_hostfile: /etc/hosts.mpi
        num_cpu_threads_per_process: 2
        num_machines: 1
        num_processes: 2
        rdzv_backend: static
        same_network: true
        tpu_env: []
        tpu_use_cluster: false
        tpu_use_sudo: false
        use_cpu: true
        """, notices: &notices)
        XCTAssertEqual(c.launch.threadsPerProcess, 2)
        XCTAssertEqual(c.launch.mpirunHostfile, "/etc/hosts.mpi")
        XCTAssertEqual(c.launch.mixedPrecision, "no")
        XCTAssertEqual(c.launch.mainProcessPort, RunConfig().launch.mainProcessPort, "null keeps the default")
        for key in ["downcast_bf16", "gpu_ids", "ipex_config", "main_training_function", "mpirun_config.mpirun_ccl", "rdzv_backend", "tpu_env"] {
            XCTAssertTrue(notices.contains { $0.contains(key) }, "notice for \(key): \(notices)")
        }
        XCTAssertTrue(notices.allSatisfy { !$0.contains("\n") })
    }

    func testUnknownKeysSuggestTheNearest() {
        XCTAssertTrue(error("optimizer:\n  learning_rat: 1\n").contains("unknown key `optimizer.learning_rat`"))
        XCTAssertTrue(error("optimizer:\n  lrr: 1\n").contains("did you mean `optimizer.lr`?"), error("optimizer:\n  lrr: 1\n"))
        XCTAssertTrue(error("model:\n  n_layers: 2\n").contains("did you mean `model.n_layer`?"))
        XCTAssertTrue(error("num_proceses: 2\n").contains("did you mean `num_processes`?"))
        XCTAssertTrue(error("optimzer:\n  lr: 1\n").contains("did you mean `optimizer`?"), error("optimzer:\n  lr: 1\n"))
        XCTAssertTrue(error("x: 1\n", overrides: []).contains("run.yaml:1:1"), error("x: 1\n"))
    }

    func testWrongTypesAndRangesNameKeyExpectationAndValue() {
        let e1 = error("model:\n  n_layer: two\n")
        XCTAssertTrue(e1.contains("run.yaml:2:12"), e1)
        XCTAssertTrue(e1.contains("model.n_layer is 'two'"), e1)
        XCTAssertTrue(e1.contains("integer"), e1)
        XCTAssertTrue(error("optimizer:\n  beta2: 1.5\n").contains("optimizer.beta2 is '1.5'"))
        XCTAssertTrue(error("training:\n  grad_compression: bf17\n").contains("did you mean bf16?"))
        XCTAssertTrue(error("model: 3\n").contains("model is a section"))
        XCTAssertTrue(error("training:\n  steps: [1, 2]\n").contains("single value"))
    }

    func testInconsistentValuesSayWhich() {
        let e = error("num_processes: 3\ntraining:\n  micro_batch: 4\n  global_batch: 20\n")
        XCTAssertTrue(e.contains("training.global_batch 20 does not split evenly over 3 processes; use a multiple of 3 (e.g. 18 or 21)"), e)
        let m = error("model:\n  d_model: 100\n  n_head: 3\n")
        XCTAssertTrue(m.contains("d_model is 100") && m.contains("n_head 3"), m)
        let s = error("model:\n  max_seq_len: 64\ntraining:\n  seq_len: 65\n")
        XCTAssertTrue(s.contains("training.seq_len 65") && s.contains("max_seq_len 64"), s)
    }

    /// Sizes no machine has are one line naming the key, never an overflow trap or a crash while
    /// allocating (issue: `--set training.micro_batch=4611686018427387904` trapped in the batch check).
    func testSizesBeyondAnyMachineNameTheKeyInsteadOfOverflowing() throws {
        let huge = error("", overrides: ["training.micro_batch=4611686018427387904"])
        XCTAssertEqual(huge, "--set: training.micro_batch is '4611686018427387904'; expected integer in 1…2147483647")
        let wide = error("model:\n  n_layer: 2\n  d_model: 65536\n  n_head: 64\n  vocab_size: 2000000000\n")
        XCTAssertTrue(wide.hasPrefix("run.yaml: model.vocab_size 2000000000 makes a model that needs about "), wide)
        XCTAssertTrue(wide.hasSuffix("PB of memory per rank, more than any machine has; lower model.vocab_size or model.d_model"), wide)
        let deep = error("model:\n  n_layer: 2000000\n  d_model: 65536\n  n_head: 64\n")
        XCTAssertTrue(deep.contains("model.d_model 65536 makes a model that needs about 2,270 PB of memory per rank") && deep.hasSuffix("lower model.d_model or model.n_layer"), deep)
        let batch = error("model:\n  max_seq_len: 100000\ntraining:\n  micro_batch: 2000000000\n  seq_len: 100000\n")
        XCTAssertTrue(batch.contains("training.micro_batch 2000000000 makes a model") && batch.hasSuffix("lower training.micro_batch or training.seq_len"), batch)
        // Sizes a large machine does have still pass to the memory plan, which compares them with
        // this machine: GPT-2 XL (1.5 B parameters) and a 200-layer d 8192 model (161 B, ~2.6 TB).
        XCTAssertEqual(error("model:\n  n_layer: 48\n  d_model: 1600\n  n_head: 25\n"), "")
        XCTAssertEqual(error("model:\n  n_layer: 200\n  d_model: 8192\n  n_head: 64\n"), "")
        // Seeds keep the whole 64-bit range.
        XCTAssertEqual(error("training:\n  seed: 9223372036854775807\n"), "")
    }

    func testInvalidYAMLGivesLineAndColumn() {
        let e = error("model:\n  n_layer: 2\n   d_model: [\n")
        XCTAssertTrue(e.contains("invalid YAML"), e)
        XCTAssertTrue(e.contains("line 3"), e)
    }

    /// The names Hugging Face and Accelerate users type, in --set and in a file, in the section they
    /// guess or at the top: one line naming the key to use.
    func testHuggingFaceNamesAreAnsweredWithTheKeyToUse() {
        XCTAssertEqual(error("", overrides: ["training.max_steps=1"]), "--set: unknown key `training.max_steps`; Hugging Face's `max_steps` is `training.steps` here")
        XCTAssertEqual(error("", overrides: ["optimizer.learning_rate=1e-3"]),
                       "--set: unknown key `optimizer.learning_rate`; Hugging Face's `learning_rate` is `optimizer.lr` here")
        let expected = ["max_steps": "training.steps", "learning_rate": "optimizer.lr", "per_device_train_batch_size": "training.micro_batch",
                        "gradient_accumulation_steps": "training.gradient_accumulation_steps", "warmup_steps": "schedule.warmup_steps",
                        "weight_decay": "optimizer.weight_decay", "seed": "training.seed", "output_dir": "logging.run_dir"]
        for (name, key) in expected {
            XCTAssertEqual(error("logging:\n  \(name): 1\n"), "run.yaml:2:3: unknown key `logging.\(name)`; Hugging Face's `\(name)` is `\(key)` here")
            guard name != "gradient_accumulation_steps" else { continue }  // Accelerate's top-level key: honored (below)
            XCTAssertEqual(error("", overrides: ["\(name)=1"]), "--set: unknown key `\(name)`; Hugging Face's `\(name)` is `\(key)` here")
        }
    }

    /// Accelerate's top-level `gradient_accumulation_steps` (in a file or `--set`) is
    /// training.gradient_accumulation_steps; given both ways, the two must agree.
    func testTopLevelGradientAccumulationStepsIsHonored() throws {
        var n: [String] = []
        XCTAssertEqual(try load("num_processes: 1\ngradient_accumulation_steps: 4\n", notices: &n).training.gradientAccumulationSteps, 4)
        XCTAssertEqual(n, [], "honored, so no 'no meaning here' notice")
        XCTAssertEqual(try load("", overrides: ["gradient_accumulation_steps=3"], notices: &n).training.gradientAccumulationSteps, 3)
        let both = "gradient_accumulation_steps: 4\ntraining:\n  micro_batch: 2\n  gradient_accumulation_steps: 4\n"
        XCTAssertEqual(try load(both, notices: &n).training.gradientAccumulationSteps, 4, "both ways, the same value")
        XCTAssertEqual(error("gradient_accumulation_steps: 4\ntraining:\n  gradient_accumulation_steps: 2\n"),
                       "run.yaml:3:3: training.gradient_accumulation_steps 2 disagrees with gradient_accumulation_steps 4 given earlier "
                       + "(both set training.gradient_accumulation_steps); keep one of the two")
        XCTAssertEqual(error("training:\n  gradient_accumulation_steps: 2\ngradient_accumulation_steps: 8\n"),
                       "run.yaml:3:1: gradient_accumulation_steps 8 disagrees with training.gradient_accumulation_steps 2 given earlier "
                       + "(both set training.gradient_accumulation_steps); keep one of the two")
        XCTAssertEqual(error("gradient_accumulation_steps: 0\n"), "run.yaml:1:30: training.gradient_accumulation_steps is '0'; expected integer in 1…2147483647")
    }

    /// `optimizer.kind` is an enum key: its names are the choices, and anything else is one line.
    func testOptimizerKindIsOneOfItsNames() throws {
        var n: [String] = []
        XCTAssertEqual(try load("optimizer:\n  kind: muon\n", notices: &n).optimizer.kind, .muon)
        XCTAssertEqual(try load("", overrides: ["optimizer.kind=adamw"], notices: &n).optimizer.kind, .adamw)
        XCTAssertEqual(error("optimizer:\n  kind: sgd\n"), "run.yaml:2:9: optimizer.kind is 'sgd'; expected one of adamw, muon")
        XCTAssertEqual(try load("", overrides: ["optimizer.kind=Muon"], notices: &n).optimizer.kind, .muon, "names match case-insensitively")
        XCTAssertEqual(error("", overrides: ["optimizer.kind=adam"]), "--set: optimizer.kind is 'adam'; expected one of adamw, muon (did you mean adamw?)")
    }

    func testOverridesAreTypedAndValidatedLikeTheFile() throws {
        var n: [String] = []
        let c = try load("", overrides: ["optimizer.lr=3e-4", "model.n_layer=8", "data.train='a b.bin'"], notices: &n)
        XCTAssertEqual(c.optimizer.lr, 3e-4)
        XCTAssertEqual(c.model.nLayer, 8)
        XCTAssertEqual(c.data.train, "a b.bin")
        XCTAssertTrue(error("", overrides: ["model.n_layer=0"]).contains("--set: model.n_layer is '0'"))
        XCTAssertTrue(error("", overrides: ["optimizer.lrate=1"]).contains("did you mean `optimizer.lr`?"))
        XCTAssertTrue(error("", overrides: ["optimizer.lr"]).contains("expected key=value"))
    }

    func testRenderedConfigLoadsBackToTheSameValues() throws {
        var c = RunConfig()
        c.model.nLayer = 5
        c.data.train = "my data/*.bin"
        c.launch.mixedPrecision = "no"
        c.optimizer.lr = 1.25e-4
        let text = ConfigLoader.render(c)
        var back = RunConfig()
        try ConfigLoader.apply(yaml: text, file: "resolved.yaml", to: &back)
        XCTAssertEqual(back, c)
        XCTAssertTrue(ConfigLoader.explain().contains("optimizer.lr"))
    }

    func testBERTFamilyKeysBuildTheModelConfig() throws {
        var n: [String] = []
        let c = try load("model:\n  arch: bert\n  norm: pre\n  nsp: true\n  intermediate_size: 96\n  d_model: 32\n  n_head: 4\n  residual_dropout: 0.1\n  attention_dropout: 0.05\ntraining:\n  mask_rate: 0.2\n", notices: &n)
        XCTAssertEqual(c.objective, .mlm, "auto follows the architecture")
        XCTAssertEqual(c.family.maskRate, 0.2)
        let b = c.bertConfig
        XCTAssertEqual([b.dModel, b.nHead, b.intermediateSize, b.typeVocabSize], [32, 4, 96, 2])
        XCTAssertEqual(b.norm, .pre)
        XCTAssertTrue(b.nsp)
        XCTAssertEqual([b.hiddenDropout, b.attentionDropout], [0.1, 0.05], "residual_dropout is BERT's hidden dropout")
        XCTAssertEqual(try load("", notices: &n).objective, .clm)
        var back = RunConfig()
        try ConfigLoader.apply(yaml: ConfigLoader.render(c), file: "resolved.yaml", to: &back)
        XCTAssertEqual(back, c, "the family keys render and load back")
    }

    func testMixingArchitectureAndObjectiveIsOneLine() {
        let cases: [(String, [String])] = [
            ("model:\n  arch: gpt\ntraining:\n  objective: mlm\n", ["training.objective mlm needs model.arch bert", "set model.arch: bert"]),
            ("model:\n  arch: bert\ntraining:\n  objective: clm\n", ["training.objective clm needs model.arch gpt"]),
            ("model:\n  nsp: true\n", ["model.nsp applies to model.arch bert only"]),
            ("model:\n  norm: post\n", ["model.norm applies to model.arch bert only"]),
            ("model:\n  arch: bert\n  embedding_dropout: 0.1\n", ["model.embedding_dropout is not used by model.arch bert", "set it to 0"]),
            ("model:\n  arch: bert\n  positions: sinusoidal\n", ["model.positions sinusoidal is not supported with model.arch bert"]),
            ("model:\n  arch: bert\n  nsp: true\ntraining:\n  micro_batch: 1\n", ["set training.micro_batch to at least 2"]),
            ("model:\n  arch: bret\n", ["model.arch is 'bret'", "did you mean bert?"]),
        ]
        for (yaml, parts) in cases {
            let e = error(yaml)
            XCTAssertFalse(e.contains("\n"), e)
            for part in parts { XCTAssertTrue(e.contains(part), "\(e) lacks \(part)") }
        }
    }

    func testMissingFileSaysHowToMakeOne() {
        XCTAssertThrowsError(try ConfigLoader.load(path: "/nonexistent/run.yaml")) {
            XCTAssertTrue("\($0)".contains("pretrain config --defaults --out /nonexistent/run.yaml"), "\($0)")
        }
    }

    // MARK: - Strict: what used to be accepted silently (issue 22, point 6)

    /// The file's own loader (not `apply(yaml:)`, which also serves in-memory text).
    func fileError(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "strict-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            _ = try ConfigLoader.load(path: path)
            return ""
        } catch { return "\(error)".replacingOccurrences(of: path, with: "run.yaml") }
    }

    func testAnEmptyConfigFileIsAnError() {
        let expected = "run.yaml: the config is empty; give it keys (`pretrain config --defaults --out run.yaml` writes every key "
            + "with its default, configs/tiny.yaml is a small run)"
        XCTAssertEqual(fileError(""), expected)
        XCTAssertEqual(fileError("# only a comment\n\n---\n"), expected)
        XCTAssertEqual(fileError("training:\n  steps: 5\n"), "", "a file with keys loads")
    }

    func testADuplicateKeyOrSectionNamesBothLines() {
        XCTAssertEqual(error("training:\n  steps: 5\n  micro_batch: 2\n  steps: 7\n"),
                       "run.yaml:4:3: key `training.steps` appears twice (first at line 2); keep one of the two lines")
        XCTAssertEqual(error("model:\n  n_layer: 2\ntraining:\n  steps: 5\nmodel:\n  d_model: 64\n"),
                       "run.yaml:5:1: section `model` appears twice (first at line 1); merge the two into one")
        XCTAssertEqual(error("num_processes: 2\nnum_processes: 4\n"),
                       "run.yaml:2:1: key `num_processes` appears twice (first at line 1); keep one of the two lines")
    }

    func testAKeyWithNoValueIsAnError() {
        XCTAssertEqual(error("training:\n  steps:\n"),
                       "run.yaml:2:3: training.steps has no value; give one (integer in 1…2147483647) or remove the line to use the default (\(RunConfig().training.steps))")
        XCTAssertEqual(error("data:\n  tokenizer: null\n"),
                       "run.yaml:2:3: data.tokenizer has no value; give one (string) ('' for an empty string) or remove the line to use the default (\(RunConfig().data.tokenizer))")
        XCTAssertEqual(error("model:\ntraining:\n  steps: 5\n"), "run.yaml:1:1: section `model` is empty; indent its keys under it, or remove the line")
        var n: [String] = []
        XCTAssertEqual(try load("data:\n  tokenizer: ''\n", notices: &n).data.tokenizer, "", "'' is a value")
    }

    func testAFloatForAnIntegerIsAnErrorWithTheIntegerToWrite() {
        XCTAssertEqual(error("training:\n  steps: 1e3\n"),
                       "run.yaml:2:10: training.steps is '1e3'; expected integer in 1…2147483647; write it as the integer 1000")
        XCTAssertEqual(error("", overrides: ["training.steps=1000.0"]),
                       "--set: training.steps is '1000.0'; expected integer in 1…2147483647; write it as the integer 1000")
        XCTAssertEqual(error("training:\n  steps: 2.5\n"), "run.yaml:2:10: training.steps is '2.5'; expected integer in 1…2147483647")
        var n: [String] = []
        XCTAssertEqual(try load("training:\n  steps: 1_000\n", notices: &n).training.steps, 1000, "underscores group digits")
    }

    func testADirectoryGivenAsTheConfigSaysSo() {
        XCTAssertThrowsError(try ConfigLoader.load(path: NSTemporaryDirectory())) {
            XCTAssertEqual("\($0)", "\(NSTemporaryDirectory()) is a directory; give the config's YAML file (e.g. configs/tiny.yaml)")
        }
    }

    func testSettingASectionSaysToSetOneOfItsKeys() {
        XCTAssertEqual(error("", overrides: ["model=3"]), "--set model=3: model is a section, not a key; set one of its keys, e.g. --set model.arch=VALUE (`pretrain config --explain` lists them)")
    }
}
