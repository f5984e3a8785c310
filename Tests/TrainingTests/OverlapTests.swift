import Config
import Distributed
import Foundation
import Model
import Training
import TestSupport
import XCTest

/// The overlap really overlaps: with a communicator slowed down in proportion to the bytes it moves
/// (a slow link), a step grows by much less than the communication time added, because buckets
/// travel while backward still runs. The same measurement with the gradient sent after backward (the
/// control) grows by all of it, which shows the measurement can tell the two apart.
final class OverlapTests: XCTestCase {
    /// Communication time added per step (over all of its bytes): a sleep on the communicating thread,
    /// so it costs no CPU and compute can hide it.
    let added = 0.150

    /// Median step time without the delay, median growth with it, the calls per step, and the reported
    /// timings of the delayed steps (rank 0). Delayed and undelayed steps alternate, and the growth is
    /// the median of each pair's difference, so that load drifting on a shared machine cancels out.
    func measure(overlap: Bool, dir: String) throws -> (plain: Double, growth: Double, calls: Int, comm: Double, exposed: Double) {
        let added = self.added
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 8, accumulation: 1, steps: 100,
                                             model: GPTConfig(vocabSize: 64, maxSeqLen: 128, nLayer: 8, nHead: 4, dModel: 192))
        config.training.bucketMB = 1
        config.training.checksumInterval = 0
        config.schedule.kind = .constant
        var options = TrainerOptions()
        options.overlapCommunication = overlap
        let rounds = 7
        let results = try InProcessGroup.run(size: 2) { comm -> (Double, Double, Int, Double, Double) in
            let slow = InstrumentedCommunicator(wrapping: comm)
            let trainer = try Trainer(config: config, comm: slow, threads: 1, options: options)
            let perByte = added / Double(trainer.model.layout.count * 4 + 4)  // gradient + loss
            _ = try trainer.trainStep()  // warm-up: page faults, first-touch
            var plain: [Double] = [], growth: [Double] = [], comm: [Double] = [], exposed: [Double] = []
            var calls = 0
            for _ in 0..<rounds {
                slow.setDelay(perCall: 0, perByte: 0)
                let before = try trainer.trainStep().stepSeconds
                plain.append(before)
                slow.setDelay(perCall: 0, perByte: perByte)
                slow.resetStats()
                let m = try trainer.trainStep()
                calls = slow.stats.totalCalls
                growth.append(m.stepSeconds - before)
                comm.append(m.commSeconds)
                exposed.append(m.exposedCommSeconds)
            }
            return (Self.median(plain), Self.median(growth), calls, Self.median(comm), Self.median(exposed))
        }
        return results[0]
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    func testOverlapHidesAddedCommunicationTime() throws {
        let dir = try TrainingFixtures.corpus(count: 60_000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let overlapped = try measure(overlap: true, dir: dir)
        let growth = overlapped.growth
        let summary = String(format: "overlapped: %d calls, %.0f ms added; step %.0f ms grows by %.0f ms; comm %.0f ms, exposed %.0f ms",
                             overlapped.calls, added * 1000, overlapped.plain * 1000,
                             growth * 1000, overlapped.comm * 1000, overlapped.exposed * 1000)
        print(summary)
        XCTAssertGreaterThan(overlapped.calls, 10, "enough buckets to overlap: " + summary)
        XCTAssertLessThan(growth, 0.5 * added, "the step must grow by clearly less than the communication added: " + summary)
        XCTAssertGreaterThanOrEqual(overlapped.comm, 0.9 * added, "communication time counts the transport's busy time: " + summary)
        XCTAssertLessThan(overlapped.exposed, 0.6 * overlapped.comm, "most communication is hidden: " + summary)

        let control = try measure(overlap: false, dir: dir)
        let controlSummary = String(format: "after backward: %d calls, step %.0f ms grows by %.0f ms, exposed %.0f ms",
                                    control.calls, control.plain * 1000, control.growth * 1000, control.exposed * 1000)
        print(controlSummary)
        XCTAssertGreaterThan(control.growth, 0.5 * added, "without overlap the step pays (nearly) the whole delay: " + controlSummary)
        XCTAssertGreaterThan(control.growth, growth + 0.3 * added, "overlap saves a clear part of it: " + summary + "; " + controlSummary)
    }
}
