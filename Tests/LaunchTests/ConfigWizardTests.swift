import Config
import Launch
import TestSupport
import XCTest

final class ConfigWizardTests: XCTestCase {
    /// Runs the wizard on a machine with `cores` cores (mpirun on PATH when `mpirun`) with `answers`,
    /// one per question; returns the config (nil when it threw), everything it printed and the error.
    func wizard(_ answers: [String], cores: Int = 8, mpirun: Bool = true) throws -> (config: RunConfig?, output: [String], error: String?) {
        let path = try LaunchFixtures.temporaryDirectory("wizard-path")
        if mpirun { try LaunchFixtures.write("#!/bin/sh\n", to: path, "mpirun", executable: true) }
        let environment = LaunchEnvironment(variables: ["PATH": path], isRoot: false, logicalCores: cores, physicalCores: cores,
                                            executable: "/opt/pretrain", workingDirectory: "/tmp")
        var remaining = answers[...]
        var printed: [String] = []
        let wizard = ConfigWizard(environment: environment, input: { remaining.popFirst() }, output: { printed.append($0) })
        do {
            return (try wizard.run(starting: RunConfig()), printed, nil)
        } catch let error as LaunchError {
            return (nil, printed, error.message)
        }
    }

    /// Enter for every question of a one-machine run with a preset model (15 questions, one spare).
    let allDefaults = Array(repeating: "", count: 16)

    func testEnterEverywhereTakesTheDetectedDefaults() throws {
        let (config, output, error) = try wizard(allDefaults, cores: 8)
        XCTAssertNil(error)
        let c = try XCTUnwrap(config)
        XCTAssertEqual(c.launch.numMachines, 1)
        XCTAssertEqual(c.launch.numProcesses, 2, "8 cores: one rank per 4 cores")
        XCTAssertEqual(c.launch.distributedType, "MULTI_CPU")
        XCTAssertEqual(c.launch.threadsPerProcess, 0)
        XCTAssertEqual([c.model.vocabSize, c.model.nLayer, c.model.nHead, c.model.dModel], [2048, 4, 4, 128], "the tiny preset")
        XCTAssertEqual(c.training.seqLen, 128)
        XCTAssertEqual(c.checkpoint.dir, "", "checkpoints follow logging.run_dir")
        XCTAssertTrue(output[1].hasPrefix("This machine: 8 cores (8 physical); mpirun: /"), output[1])
        XCTAssertTrue(output.contains("How many processes (ranks) in total, over all machines? [2]"), "\(output)")
    }

    func testSuggestedProcessesFollowTheCores() {
        XCTAssertEqual(ConfigWizard.suggestedProcesses(cores: 1), 1)
        XCTAssertEqual(ConfigWizard.suggestedProcesses(cores: 2), 2)
        XCTAssertEqual(ConfigWizard.suggestedProcesses(cores: 4), 4)
        XCTAssertEqual(ConfigWizard.suggestedProcesses(cores: 16), 4)
        XCTAssertEqual(ConfigWizard.suggestedProcesses(cores: 64), 16)
    }

    func testWithoutMpirunOneProcessIsSuggested() throws {
        let (config, output, _) = try wizard(allDefaults, cores: 8, mpirun: false)
        XCTAssertEqual(config?.launch.numProcesses, 1)
        XCTAssertEqual(config?.launch.distributedType, "NO")
        XCTAssertTrue(output[1].contains("mpirun: not found (install openmpi-bin"), output[1])
    }

    func testInvalidAnswersAreAskedAgainWithTheReason() throws {
        let (config, output, error) = try wizard(["two", "0", "1"] + Array(allDefaults.dropFirst()), cores: 2)
        XCTAssertNil(error)
        XCTAssertEqual(config?.launch.numMachines, 1)
        XCTAssertTrue(output.contains("  num_machines is 'two'; expected integer in 1…2147483647"), "\(output)")
        XCTAssertTrue(output.contains("  num_machines is '0'; expected integer in 1…2147483647"), "\(output)")
        XCTAssertEqual(output.filter { $0.hasPrefix("How many machines") }.count, 3)
    }

    func testSeveralMachinesAskForTheHostfileAndScaleTheProcesses() throws {
        var answers = ["2", "/nonexistent/hosts"]
        answers += Array(repeating: "", count: 15)
        let (config, output, error) = try wizard(answers, cores: 16)
        XCTAssertNil(error)
        XCTAssertEqual(config?.launch.mpirunHostfile, "/nonexistent/hosts")
        XCTAssertEqual(config?.launch.numProcesses, 8, "4 per machine × 2")
        XCTAssertTrue(output.contains("  note: /nonexistent/hosts does not exist yet; write it before `pretrain launch` (see cluster/hostfile.example)"), "\(output)")
    }

    func testAGlobalBatchThatDoesNotDivideIsAskedAgain() throws {
        // machines, processes, threads, affinity, arch, size, precision, train, val, tokenizer, steps, micro_batch, global_batch…
        let answers = ["1", "2", "", "", "", "tiny", "", "", "", "", "", "8", "21", "32", "", ""]
        let (config, output, error) = try wizard(answers, cores: 2)
        XCTAssertNil(error)
        XCTAssertEqual(config?.training.globalBatch, 32)
        XCTAssertEqual(try config.map { try ConfigLoader.accumulationSteps($0, worldSize: 2) }, 2)
        XCTAssertTrue(output.contains("  answer: training.global_batch 21 does not split evenly over 2 processes; use a multiple of 2 (e.g. 20 or 22)"), "\(output)")
    }

    func testCustomModelAsksForItsShapeAndPresetsAreSuggestedForTypos() throws {
        // … arch, size: a typo, then custom: vocab, layers, (width, heads, max_seq_len, seq_len) twice, then defaults.
        let answers = ["1", "2", "", "", "", "smal", "custom", "1000", "3", "96", "5", "64", "32", "96", "4", "64", "32"]
            + Array(repeating: "", count: 9)
        let (config, output, error) = try wizard(answers, cores: 2)
        XCTAssertNil(error)
        XCTAssertTrue(output.contains("  'smal' is not one of tiny, small, gpt2, custom (did you mean small?)"), "\(output)")
        XCTAssertTrue(output.contains("  answer: model.d_model is 96, not divisible by model.n_head 5; pick d_model a multiple of n_head (e.g. 95)"), "\(output)")
        let c = try XCTUnwrap(config)
        XCTAssertEqual([c.model.vocabSize, c.model.nLayer, c.model.dModel, c.model.nHead, c.model.maxSeqLen, c.training.seqLen], [1000, 3, 96, 4, 64, 32])
    }

    /// The wizard's tiny answer is configs/tiny.yaml's run: Enter everywhere on a 2-core machine gives
    /// that file's model, data, optimizer, schedule and training sections.
    func testTinyIsConfigsTinyYaml() throws {
        let (config, output, error) = try wizard(allDefaults, cores: 2)
        XCTAssertNil(error)
        let c = try XCTUnwrap(config)
        let file = try ConfigLoader.load(path: LaunchFixtures.repositoryRoot + "/configs/tiny.yaml")
        XCTAssertEqual(c.modelPreset, .tiny)
        XCTAssertEqual(c.model, file.model)
        XCTAssertEqual(c.family, file.family)
        XCTAssertEqual(c.data, file.data)
        XCTAssertEqual(c.optimizer, file.optimizer)
        XCTAssertEqual(c.schedule, file.schedule)
        XCTAssertEqual(c.training, file.training)
        XCTAssertEqual(c.launch.numProcesses, file.launch.numProcesses)
        XCTAssertEqual(c.launch.mixedPrecision, file.launch.mixedPrecision, "auto, asked after the size with tiny's answer as the default")
        XCTAssertTrue(output.contains("Architecture: gpt (decoder, causal LM) or bert (encoder, masked LM)? [gpt]"), "\(output)")
        XCTAssertTrue(output.contains { $0.hasPrefix("Tokenizer (tokenizer.json from `pretrain data prepare`; '' = none)? [data/fortunes/tokenizer.json]") }, "\(output)")
    }

    func testInputEndingEarlyIsAnError() throws {
        let (config, _, error) = try wizard(["1", "2"], cores: 2)
        XCTAssertNil(config)
        XCTAssertEqual(error, "input ended before every question was answered (at: Compute threads per process? (0 = cores ÷ processes on each machine, here 1)); answer each question on its own line, or use `pretrain config --defaults --out FILE`")
    }
}
