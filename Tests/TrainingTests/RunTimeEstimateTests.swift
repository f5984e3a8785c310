import Training
import XCTest

/// `RunTimeEstimate`: the first step is left out, the next three are averaged, and the answer comes once.
final class RunTimeEstimateTests: XCTestCase {
    func testTheFirstStepIsLeftOutAndTheAnswerComesOnce() {
        var e = RunTimeEstimate(totalSteps: 800)
        XCTAssertNil(e.record(step: 1, stepSeconds: 9))  // warm-up: not measured
        XCTAssertNil(e.record(step: 2, stepSeconds: 0.18))
        XCTAssertNil(e.record(step: 3, stepSeconds: 0.20))
        let result = e.record(step: 4, stepSeconds: 0.22)
        XCTAssertEqual(result?.secondsPerStep ?? 0, 0.20, accuracy: 1e-12)
        XCTAssertEqual(result?.stepsLeft, 796)
        XCTAssertEqual(result?.line, "estimate: 0.200 s/step (steps 2-4), 800 steps ≈ 2m40s (about 2m39s left)")
        XCTAssertNil(result?.warning, "160 s is under an hour")
        XCTAssertNil(e.record(step: 5, stepSeconds: 0.2), "once")
    }

    func testOverAnHourIsAWarningAndAResumedRunCountsFromItsFirstStep() {
        var e = RunTimeEstimate(totalSteps: 200)
        XCTAssertNil(e.record(step: 101, stepSeconds: 60))  // resumed at step 100
        _ = e.record(step: 102, stepSeconds: 27)
        _ = e.record(step: 103, stepSeconds: 28)
        let result = e.record(step: 104, stepSeconds: 27.8)
        XCTAssertEqual(result?.line, "estimate: 27.6 s/step (steps 102-104), 200 steps ≈ 1h32m (about 44m10s left)")
        XCTAssertEqual(result?.warning, "this run would take about 1h32m (200 steps × 27.6 s); for a quicker one lower training.steps, "
                       + "or pick a smaller model (model.preset: tiny) or training.seq_len")
    }

    func testFastStepsKeepTheirDigits() {
        var e = RunTimeEstimate(totalSteps: 1_000_000_000)
        let result = (1...4).compactMap { e.record(step: $0, stepSeconds: 0.00041) }.first
        XCTAssertEqual(result?.line, "estimate: 0.00041 s/step (steps 2-4), 1000000000 steps ≈ 113h53m (about 113h53m left)")
    }

    func testARunShorterThanTheMeasurementGetsNoEstimate() {
        var e = RunTimeEstimate(totalSteps: 3)
        XCTAssertEqual((1...3).compactMap { e.record(step: $0, stepSeconds: 1) }.count, 0)
    }
}
