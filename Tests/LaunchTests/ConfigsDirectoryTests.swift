import Config
import Launch
import TestSupport
import XCTest

/// The shipped configs/ files and cluster/hostfile.example: they load, say what they are, and have the
/// documented shapes.
final class ConfigsDirectoryTests: XCTestCase {
    let root = LaunchFixtures.repositoryRoot

    func load(_ name: String) throws -> RunConfig {
        var notices: [String] = []
        let config = try ConfigLoader.load(path: root + "/configs/" + name) { notices.append($0) }
        XCTAssertEqual(notices, [], name)
        return config
    }

    func testEveryShippedConfigLoadsAndIsCommented() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/configs").filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(names, ["bench-m.yaml", "bench-s.yaml", "gpt2-124m.yaml", "t5-tiny.yaml", "tiny.yaml", "transformer-gettext.yaml"])
        for name in names {
            _ = try load(name)
            let text = try String(contentsOfFile: root + "/configs/" + name, encoding: .utf8)
            XCTAssertTrue(text.hasPrefix("# "), name)
            XCTAssertGreaterThanOrEqual(text.split(separator: "\n").filter { $0.contains("#") }.count, 8, name)
        }
    }

    func testT5ConfigIsASpanCorruptionRun() throws {
        let c = try load("t5-tiny.yaml")
        XCTAssertEqual(c.family.arch, .t5)
        XCTAssertEqual(c.objective, .spanCorruption)
        XCTAssertEqual([c.t5Config.numLayers, c.t5Config.numDecoderLayers, c.t5Config.dModel, c.t5Config.dKV, c.t5Config.dFF], [4, 4, 128, 32, 512])
    }

    func testTransformerConfigIsThePapersRecipeOnPairs() throws {
        let c = try load("transformer-gettext.yaml")
        XCTAssertEqual(c.family.arch, .transformer)
        XCTAssertEqual(c.objective, .seq2seq)
        XCTAssertEqual(c.schedule.kind, .noam)
        let t = c.transformerConfig
        XCTAssertEqual([t.numEncoderLayers, t.numDecoderLayers, t.dModel, t.numHeads, t.dimFeedforward], [3, 3, 128, 4, 512])
        XCTAssertEqual([t.dropout, t.labelSmoothing], [0.1, 0.1])
    }

    func testBenchConfigsHaveTheBenchmarkShapes() throws {
        let s = try load("bench-s.yaml")
        XCTAssertEqual([s.model.vocabSize, s.model.nLayer, s.model.nHead, s.model.dModel, s.training.seqLen, s.training.microBatch],
                       [8192, 6, 6, 384, 256, 8])
        let m = try load("bench-m.yaml")
        XCTAssertEqual([m.model.vocabSize, m.model.nLayer, m.model.nHead, m.model.dModel, m.model.maxSeqLen, m.training.seqLen, m.training.microBatch],
                       [50257, 12, 12, 768, 1024, 256, 4])
    }

    func testGPT2ConfigIsAMultiMachineRunThatFitsTheExampleHostfile() throws {
        var c = try load("gpt2-124m.yaml")
        XCTAssertEqual([c.model.vocabSize, c.model.nLayer, c.model.nHead, c.model.dModel, c.model.maxSeqLen], [50257, 12, 12, 768, 1024])
        XCTAssertEqual(c.training.globalBatch * c.training.seqLen, 524_288)
        XCTAssertEqual(try ConfigLoader.accumulationSteps(c, worldSize: c.launch.numProcesses), 2)
        XCTAssertEqual(c.launch.mpirunHostfile, "cluster/hostfile.example")
        c.launch.mpirunHostfile = root + "/" + c.launch.mpirunHostfile
        let env = LaunchEnvironment(variables: ["PATH": "/usr/bin:/bin"], isRoot: false, logicalCores: 2, physicalCores: 2,
                                    executable: "/opt/pretrain", workingDirectory: "/shared/run")
        guard env.findProgram("mpirun") != nil else { return XCTFail("mpirun is not installed (make test installs openmpi-bin)") }
        let plan = try LaunchPlanner.plan(config: c, options: LaunchOptions(configPath: "configs/gpt2-124m.yaml"), environment: env)
        XCTAssertEqual(Array(plan.arguments.prefix(14)), ["-n", "32", "--hostfile", c.launch.mpirunHostfile, "--npernode", "8", "--wdir", "/shared/run",
                                                           "--map-by", "slot:PE=4", "--bind-to", "core", "-x", "OMP_NUM_THREADS=4"])
    }
}
