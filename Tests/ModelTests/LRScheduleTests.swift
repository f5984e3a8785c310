import Model
import XCTest

/// Schedules at chosen steps against values worked out by hand.
final class LRScheduleTests: XCTestCase {
    func testNoamMatchesThePaper() {
        // d_model 512, warmup 4000: peak at step 4000 = 512^-0.5 · 4000^-0.5 = 1/sqrt(2,048,000) ≈ 6.98771e-4.
        let s = LRSchedule.noam(dModel: 512, warmup: 4000, scale: 1)
        XCTAssertEqual(Double(s.rate(at: 4000)), 6.98771e-4, accuracy: 1e-9)
        // During warmup it is linear: step 400 is a tenth of the peak.
        XCTAssertEqual(Double(s.rate(at: 400)), 6.98771e-5, accuracy: 1e-10)
        // After warmup it decays as step^-0.5: step 16000 is half the peak.
        XCTAssertEqual(Double(s.rate(at: 16000)), 3.493856e-4, accuracy: 1e-9)
    }

    func testWarmupCosine() {
        let s = LRSchedule.warmupCosine(lr: 1e-3, warmup: 10, total: 110, minLR: 1e-4)
        XCTAssertEqual(s.rate(at: 1), 1e-4, accuracy: 1e-9)      // 1/10 of the peak
        XCTAssertEqual(s.rate(at: 10), 1e-3, accuracy: 1e-9)     // the peak
        XCTAssertEqual(s.rate(at: 60), 5.5e-4, accuracy: 1e-9)   // halfway down: (peak + floor) / 2
        XCTAssertEqual(s.rate(at: 35), 1e-4 + 0.9e-3 * 0.5 * (1 + 0.70710678), accuracy: 1e-8) // a quarter: cos(π/4)
        XCTAssertEqual(s.rate(at: 110), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 500), 1e-4, accuracy: 1e-12)
    }

    func testConstant() {
        XCTAssertEqual(LRSchedule.constant(lr: 0.5).rate(at: 1), 0.5)
        XCTAssertEqual(LRSchedule.constant(lr: 0.5).rate(at: 10_000), 0.5)
    }
}
