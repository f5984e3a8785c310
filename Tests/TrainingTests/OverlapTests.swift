import Config
import Distributed
import Foundation
import Model
import Training
import TestSupport
import XCTest

/// The overlap really overlaps: with a communicator slowed down in proportion to the bytes it moves
/// (a slow link), gradient buckets travel, and most of them finish, while backward still runs. The same
/// run with the gradient sent after backward (the control) starts no bucket before backward ends, which
/// shows the measurement can tell the two apart.
///
/// The proof is the order of events in rank 0's timeline (each bucket's transport on the
/// communication thread against the end of backward on the compute thread), not a ratio of step
/// times, so load on a shared machine cannot fail it: the added delay is sized from this machine's own
/// backward time (half of it), and a slower backward only hides more.
final class OverlapTests: XCTestCase {
    /// One delayed step as rank 0's timeline shows it.
    struct StepEvents {
        var backwardEnd = 0.0
        /// Each bucket's transport: when the communication thread started and finished it (µs).
        var buckets: [(start: Double, end: Double)] = []
        var startedBeforeBackwardEnded: Int { buckets.filter { $0.start < backwardEnd }.count }
        var finishedBeforeBackwardEnded: Int { buckets.filter { $0.end <= backwardEnd }.count }
    }

    /// Trains two ranks with `overlap`: a warm-up step, a plain step (its backward time sizes the
    /// delay: half of it, spread over the gradient's bytes), then `delayed` steps on the slow link.
    /// Returns the delay added per step, the communication seconds the delayed steps reported, the
    /// transport calls per step and the delayed steps' events.
    func measure(overlap: Bool, dir: String, delayed: Int = 3) throws -> (added: Double, comm: [Double], calls: Int, steps: [StepEvents]) {
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 8, accumulation: 1, steps: 100,
                                             model: GPTConfig(vocabSize: 64, maxSeqLen: 128, nLayer: 8, nHead: 4, dModel: 192))
        config.training.bucketMB = 1
        config.training.checksumInterval = 0
        config.schedule.kind = .constant
        config.logging.runDir = dir + (overlap ? "/overlapped" : "/after-backward")
        config.logging.timeline = true
        var options = TrainerOptions()
        options.overlapCommunication = overlap
        let timeline = config.logging.runDir + "/timeline/rank-00000.json"
        let results = try InProcessGroup.run(size: 2) { comm -> (Double, [Double], Int) in
            let slow = InstrumentedCommunicator(wrapping: comm)
            let trainer = try Trainer(config: config, comm: slow, threads: 1, options: options)
            _ = try trainer.trainStep()  // warm-up: page faults, first-touch
            _ = try trainer.trainStep()
            // Every rank reads rank 0's plain step, so that both slow their link alike.
            try comm.barrier()
            let backward = try Self.steps(in: timeline)[2].map { $0.backwardEnd - $0.backwardStart } ?? 0
            let added = max(0.02, 0.5 * backward / 1e6)
            slow.setDelay(perCall: 0, perByte: added / Double(trainer.model.layout.count * 4 + 4))  // gradient + loss
            slow.resetStats()
            var comms: [Double] = []
            for _ in 0..<delayed { comms.append(try trainer.trainStep().commSeconds) }
            return (added, comms, slow.stats.totalCalls / delayed)
        }
        let all = try Self.steps(in: timeline)
        let steps = (3..<(3 + delayed)).map { step in
            let s = all[step]!
            return StepEvents(backwardEnd: s.backwardEnd, buckets: s.buckets)
        }
        return (results[0].0, results[0].1, results[0].2, steps)
    }

    /// The steps of a (possibly unfinished) timeline file: per step number, backward's first start and
    /// last end and the buckets' transports, all in the file's microseconds.
    static func steps(in path: String) throws -> [Int: (backwardStart: Double, backwardEnd: Double, buckets: [(start: Double, end: Double)])] {
        struct Event { var name: String, cat: String, start: Double, end: Double, step: Int? }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let events: [Event] = text.split(separator: "\n").compactMap { line in
            var json = line.hasPrefix(",") ? line.dropFirst() : line[...]
            if json.hasSuffix(",") { json = json.dropLast() }
            guard json.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                  object["ph"] as? String == "X", let ts = object["ts"] as? Double, let dur = object["dur"] as? Double else { return nil }
            let step = (object["args"] as? [String: Any])?["step"] as? Int
            return Event(name: object["name"] as? String ?? "", cat: object["cat"] as? String ?? "", start: ts, end: ts + dur, step: step)
        }
        var result: [Int: (backwardStart: Double, backwardEnd: Double, buckets: [(start: Double, end: Double)])] = [:]
        for step in events where step.name == "step" {
            let inside = events.filter { $0.start >= step.start && $0.end <= step.end + 1 }
            let backward = inside.filter { $0.cat == "backward" }
            guard let number = step.step, let first = backward.map(\.start).min(), let last = backward.map(\.end).max() else { continue }
            result[number] = (first, last, inside.filter { $0.name.hasPrefix("allreduce bucket") }.map { ($0.start, $0.end) })
        }
        return result
    }

    func testOverlapHidesAddedCommunicationTime() throws {
        let dir = try TrainingFixtures.corpus(count: 60_000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let overlapped = try measure(overlap: true, dir: dir)
        let buckets = overlapped.steps.map(\.buckets.count).reduce(0, +)
        let finished = overlapped.steps.map(\.finishedBeforeBackwardEnded).reduce(0, +)
        let summary = "overlapped: \(overlapped.calls) calls per step, \(Int(overlapped.added * 1000)) ms added per step; of \(buckets) "
            + "buckets in \(overlapped.steps.count) steps \(finished) finished before backward ended; comm "
            + overlapped.comm.map { String(format: "%.0f ms", $0 * 1000) }.joined(separator: ", ")
        print(summary)
        XCTAssertGreaterThan(overlapped.calls, 10, "enough buckets to overlap: " + summary)
        XCTAssertGreaterThan(buckets, 10 * overlapped.steps.count, "the timeline shows every step's buckets: " + summary)
        // The delay is half of backward's time: the link keeps up, so all but the last buckets of
        // each step (handed over as backward ends) are through before it ends.
        XCTAssertGreaterThanOrEqual(2 * finished, buckets, "most buckets travel and finish during backward: " + summary)
        for comm in overlapped.comm {
            XCTAssertGreaterThanOrEqual(comm, 0.9 * overlapped.added, "communication time counts the transport's busy time: " + summary)
        }

        let control = try measure(overlap: false, dir: dir)
        let started = control.steps.map(\.startedBeforeBackwardEnded).reduce(0, +)
        let controlSummary = "after backward: \(control.calls) calls per step, \(control.steps.map(\.buckets.count).reduce(0, +)) buckets, "
            + "\(started) started before backward ended"
        print(controlSummary)
        XCTAssertGreaterThan(control.steps.map(\.buckets.count).reduce(0, +), 0, controlSummary)
        XCTAssertEqual(started, 0, "without overlap nothing is sent before backward ends: " + controlSummary)
    }
}
