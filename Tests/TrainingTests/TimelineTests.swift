import Config
import Distributed
import Foundation
import Model
import Training
import TestSupport
import XCTest

/// The Chrome trace written with `logging.timeline: true`: valid JSON, the documented event names, and
/// an order of events that is physically possible (a gradient bucket is reduced only after backward
/// has finished every layer it holds).
final class TimelineTests: XCTestCase {
    typealias Event = [String: Any]

    func events(_ path: String) throws -> [Event] {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path), path)
        let array = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [Event], "\(path) is a JSON array")
        return array
    }

    func testTwoRankTimelineIsValidAndCausal() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let steps = 3
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 2, steps: steps,
                                             model: GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 3, nHead: 2, dModel: 32))
        config.training.bucketMB = 0.02  // several buckets, each spanning about one block
        config.logging.timeline = true
        config.logging.runDir = dir + "/run"
        var options = TrainerOptions()
        options.overlapCommunication = true
        _ = try InProcessGroup.run(size: 2) { comm in
            try Trainer(config: config, comm: comm, threads: 1, options: options).run()
        }
        let L = config.model.nLayer
        let names = try NSRegularExpression(pattern: "^(step|forward (embedding|head|layer \\d+)|backward (embedding|head|layer \\d+)|allreduce bucket \\d+|gradient sync wait|optimizer step|eval|checkpoint (write|commit)|process_name|thread_name)$")
        for rank in 0..<2 {
            let path = dir + String(format: "/run/timeline/rank-%05d.json", rank)
            let all = try events(path)
            for e in all {
                let name = e["name"] as? String ?? ""
                XCTAssertEqual(names.numberOfMatches(in: name, range: NSRange(name.startIndex..., in: name)), 1, "undocumented event name '\(name)'")
                XCTAssertEqual(e["pid"] as? Int, rank)
            }
            let complete = all.filter { $0["ph"] as? String == "X" }
            func named(_ prefix: String) -> [Event] { complete.filter { ($0["name"] as! String).hasPrefix(prefix) } }
            func span(_ e: Event) -> (start: Double, end: Double) {
                let ts = e["ts"] as! Double, dur = e["dur"] as! Double
                return (ts, ts + dur)
            }
            func range(_ e: Event) -> Range<Int>? {
                guard let r = (e["args"] as? [String: Any])?["range"] as? [Int] else { return nil }
                return r[0]..<r[1]
            }
            let stepEvents = named("step")
            XCTAssertEqual(stepEvents.count, steps, "one step event per step")
            XCTAssertEqual(named("optimizer step").count, steps)
            // Two micro-batches per step: every layer runs forward and backward twice.
            XCTAssertEqual(named("forward layer").count, steps * 2 * L)
            XCTAssertEqual(named("backward layer").count, steps * 2 * L)
            for l in 0..<L { XCTAssertEqual(named("backward layer \(l)").count, steps * 2) }
            let buckets = named("allreduce bucket")
            XCTAssertGreaterThan(buckets.count, steps * 2, "several buckets per step")
            XCTAssertTrue(buckets.allSatisfy { $0["tid"] as? Int == 1 }, "buckets run on the communication thread")
            for stepEvent in stepEvents {
                let window = span(stepEvent)
                func inStep(_ e: Event) -> Bool { let s = span(e); return s.start >= window.start && s.end <= window.end + 1 }
                let stepBuckets = buckets.filter(inStep)
                XCTAssertFalse(stepBuckets.isEmpty)
                let backward = named("backward").filter(inStep)
                let optimizer = named("optimizer step").filter(inStep)
                XCTAssertEqual(optimizer.count, 1)
                var covered = 0
                for bucket in stepBuckets {
                    let b = try XCTUnwrap(range(bucket))
                    covered += b.count
                    let holders = backward.filter { range($0).map { $0.overlaps(b) } ?? false }
                    XCTAssertFalse(holders.isEmpty, "backward events finish the gradient of \(b)")
                    for h in holders {
                        XCTAssertGreaterThanOrEqual(span(bucket).start, span(h).end - 0.005,
                                                    "rank \(rank): \(bucket["name"]!) \(b) starts before \(h["name"]!) ends")
                    }
                    XCTAssertLessThanOrEqual(span(bucket).end, span(optimizer[0]).start + 0.005, "the optimizer steps after every bucket is reduced")
                }
                XCTAssertEqual(covered, GPTLayout(config: config.model).count, "the buckets of a step cover the whole gradient")
            }
        }
    }
}
