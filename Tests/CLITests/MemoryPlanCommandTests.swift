import Foundation
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
