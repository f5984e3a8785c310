import Foundation
import Model
import TestSupport
import XCTest

/// A run too big for memory is one line before anything large is allocated (it used to be "Fatal
/// error: failed to allocate …" with a backtrace, or a silent march to the OOM killer), and the plan
/// matches the peak RSS `pretrain bench step` measures.
final class MemoryPlanCommandTests: XCTestCase {
    /// `mpirun -n 2 pretrain train --config configs/tiny.yaml --set …` as the issue ran it; under
    /// `ulimit -v addressLimitKB` when that is given.
    func tiny(_ settings: [String], addressLimitKB: Int? = nil) throws -> ProcessRunner.Run {
        let config = LaunchFixtures.repositoryRoot + "/configs/tiny.yaml"
        let dir = try LaunchFixtures.temporaryDirectory("memory")
        try LaunchFixtures.writeShard(to: dir)
        let base = ["data.train=\(dir)/train_*.bin", "data.val=", "data.tokenizer=", "logging.run_dir=\(dir)/run"]
        let arguments = ["train", "--config", config] + (base + settings).flatMap { ["--set", $0] }
        guard let addressLimitKB else { return try ProcessRunner.mpirun(2, arguments) }
        return try ProcessRunner.execute("/bin/sh", ["-c", "ulimit -v \(addressLimitKB) && exec \"$@\"", "sh", "mpirun", "-n", "2"]
                                         + ProcessRunner.mpirunFlags + [try ProcessRunner.pretrainBinary()] + arguments)
    }

    func assertRefused(_ run: ProcessRunner.Run, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 2, run.output, file: file, line: line)
        let errors = run.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, run.output, file: file, line: line)
        XCTAssertTrue(errors.first?.hasPrefix("error: not enough memory: each rank needs ") ?? false, run.output, file: file, line: line)
        for text in mentions { XCTAssertTrue(errors.first?.contains(text) ?? false, "\(text) missing: \(run.output)", file: file, line: line) }
        XCTAssertFalse(run.output.contains("Fatal error") || run.output.contains("failed to allocate"), run.output, file: file, line: line)
    }

    func testAModelTooBigForMemoryIsOneLine() throws {
        // 200 layers of d_model 8192: 161 G parameters, 2.4 TiB with gradients and moments.
        let run = try tiny(["model.n_layer=200", "model.d_model=8192"])
        assertRefused(run, mentions: ["model.n_layer 200, model.d_model 8192", "training.zero1: true", "MemAvailable"])
    }

    func testAMicroBatchTooBigForMemoryIsOneLine() throws {
        // B × 128 tokens of a 2048-token vocabulary: 1 MiB of logits per sequence per rank alone, so
        // a micro-batch of (at least 12000 and) twice this host's MemAvailable in MiB cannot fit.
        let available = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("MemAvailable:") }.flatMap { Int($0.split(separator: " ")[1]) }.map { $0 * 1024 } ?? 0
        let micro = max(12000, 2 * available / (128 * 2048 * 4) + 1)
        let run = try tiny(["training.micro_batch=\(micro)", "training.global_batch=\(2 * micro)"])
        assertRefused(run, mentions: ["lower training.micro_batch (\(micro)"])
    }

    /// The plan fits (1.6 GiB per rank for 57 M parameters) but the system refuses the memory anyway,
    /// here because each rank may map only 768 MiB (`ulimit -v`): one line from rank 0 naming the bytes,
    /// the limit and the levers, status 2, every rank ending through MPI_Finalize. It used to be "Fatal
    /// error: failed to allocate 233502720 bytes of memory with alignment 64" and a backtrace per rank.
    func testAnAllocationTheSystemRefusesDespiteThePlanIsOneLineNotACrash() throws {
        let run = try tiny(["threads_per_process=1", "model.n_layer=8", "model.d_model=768", "model.n_head=8",
                            "training.micro_batch=1", "training.global_batch=2", "training.seq_len=16"], addressLimitKB: 768 << 10)
        XCTAssertEqual(run.status, 2, run.output)
        let errors = run.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, run.output)
        let error = errors.first ?? ""
        XCTAssertTrue(error.hasPrefix("error: could not allocate ") && error.contains(" bytes) although the memory plan fit (parameters "), run.output)
        for text in ["the process's address-space limit refused it (ulimit -v 786432, 768.0 MiB (805306368 bytes))",
                     "lower training.micro_batch (1;", "a smaller model (model.n_layer 8, model.d_model 768)", "training.zero1: true"] {
            XCTAssertTrue(error.contains(text), "\(text) missing: \(run.output)")
        }
        for text in ["Fatal error", "failed to allocate", "Program crashed", "MPI_ABORT", "ORTE"] {
            XCTAssertFalse(run.output.contains(text), "\(text): \(run.output)")
        }
    }

    /// The checkpoint staging buffer (each rank's share of parameters and AdamW moments, in the plan as
    /// "checkpoint staging") is allocated at start-up with the rest, so that when the system refuses it
    /// the ranks agree and end through MPI_Finalize with one line and status 2; it used to be allocated
    /// after step 1, where a refusal ended the job through MPI_Abort. Here only rank 1 runs under an
    /// address-space limit (`ulimit -v`), raised from too low in steps of a third of the staging buffer
    /// until the staging buffer is the allocation refused: the message must name its bytes, computed
    /// here from the model's parameter count (rank 1 of 2 stages 3 × ⌊count / 2⌋ floats).
    func testARefusedCheckpointStagingBufferIsOneLineAtStartUp() throws {
        let dir = try LaunchFixtures.temporaryDirectory("staging")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: dir + "/data")
        let yaml = LaunchFixtures.trainingConfig(dataDir: dir + "/data", runDir: dir + "/run", steps: 1)
            .replacingOccurrences(of: "  n_layer: 2", with: "  n_layer: 4").replacingOccurrences(of: "  n_head: 2", with: "  n_head: 8")
            .replacingOccurrences(of: "  d_model: 32", with: "  d_model: 768")
        let config = try LaunchFixtures.write(yaml, to: dir, "run.yaml")
        let count = GPTLayout(config: GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 4, nHead: 8, dModel: 768)).count
        let staging = 12 * (count / 2)
        let wrapper = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then ulimit -v \"$LIMIT_KB\" || exit 9; fi; exec \"$@\""
        // Parameters, gradients and moments (16 bytes per parameter) come before the staging buffer, on
        // top of the process's own ~520-550 MB of address space here (runtime, MPI, BLAS, thread stacks):
        // start just below that sum, so that an early allocation is refused first.
        var limitKB = (16 * count + (480 << 20)) >> 10
        var tried: [String] = []
        for _ in 0..<12 {
            let run = try ProcessRunner.execute("/usr/bin/env", ["LIMIT_KB=\(limitKB)", "mpirun", "-n", "2"] + ProcessRunner.mpirunFlags
                                                + ["/bin/sh", "-c", wrapper, "sh", try ProcessRunner.pretrainBinary(), "train", "--config", config])
            let errors = run.lines.filter { $0.hasPrefix("error:") }
            if run.status == 0 { XCTFail("rank 1 trained under ulimit -v \(limitKB) before the staging buffer was refused; tried: \(tried)"); return }
            if errors.first?.contains("(\(staging) bytes) although the memory plan fit") ?? false {
                XCTAssertEqual(run.status, 2, run.output)
                XCTAssertEqual(errors.count, 1, run.output)
                XCTAssertTrue(errors[0].hasPrefix("error: rank 1: could not allocate "), run.output)
                XCTAssertTrue(errors[0].contains("checkpoint staging ") && errors[0].contains("ulimit -v \(limitKB)"), run.output)
                for text in ["Fatal error", "failed to allocate", "Program crashed", "MPI_ABORT", "ORTE", "step 1 "] {
                    XCTAssertFalse(run.output.contains(text), "\(text): \(run.output)")
                }
                print("staging refused under ulimit -v \(limitKB) after \(tried.count) lower limits: \(tried)")
                return
            }
            tried.append("\(limitKB) KiB: \(errors.first ?? "status \(run.status)")")
            limitKB += (staging / 3) >> 10
        }
        XCTFail("the staging buffer was never the allocation refused: \(tried.joined(separator: "; "))")
    }

    /// bench-s (one process, full AdamW): the plan made before allocating is within 10 % of the peak
    /// RSS measured after the steps.
    func testThePlanMatchesBenchSPeakRSSWithinTenPercent() throws {
        let run = try ProcessRunner.pretrain(["bench", "step", "--preset", "s", "--steps", "1", "--warmup", "1", "--threads", "1", "--json"], timeout: 300)
        XCTAssertEqual(run.status, 0, run.output)
        let line = try XCTUnwrap(run.lines.last { $0.hasPrefix("{") }, run.output)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let peak = try XCTUnwrap(object["peak_rss_mb"] as? Int), planned = try XCTUnwrap(object["planned_rss_mb"] as? Int)
        XCTAssertGreaterThan(peak, 500, "bench-s holds ~0.7 GB: \(line)")
        XCTAssertLessThan(abs(Double(planned) / Double(peak) - 1), 0.10, "planned \(planned) MiB, peak RSS \(peak) MiB")
    }
}
