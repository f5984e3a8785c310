import Foundation
import Plot
import XCTest

/// Lenient reading of metrics JSON lines: complete records kept, broken lines reported.
final class MetricsLogTests: XCTestCase {
    func testStepAndEvalRecordsAreSeparatedAndSorted() {
        let text = """
        {"rank":0,"step":2,"loss":3.5,"lr":0.001,"tokens_per_s":1000.0}
        {"rank":0,"step":1,"loss":4.0,"lr":0.0005,"tokens_per_s":900.0}
        {"rank":0,"step":2,"val_loss":3.7,"val_perplexity":40.4}

        """
        let log = MetricsLog(text: text)
        XCTAssertEqual(log.steps.map(\.step), [1, 2])
        XCTAssertEqual(log.steps.map(\.loss), [4.0, 3.5])
        XCTAssertEqual(log.steps.map(\.tokensPerSecond), [900, 1000])
        XCTAssertEqual(log.evals, [MetricsLog.Eval(step: 2, loss: 3.7)])
        XCTAssertTrue(log.skipped.isEmpty)
        XCTAssertNil(log.skippedSummary)
    }

    func testTruncatedLastLineIsSkippedAndReported() {
        let text = "{\"step\":1,\"loss\":4.0}\n{\"step\":2,\"loss\":3.9}\n{\"step\":3,\"lo"
        let log = MetricsLog(text: text)
        XCTAssertEqual(log.steps.map(\.step), [1, 2])
        XCTAssertEqual(log.skipped.count, 1)
        XCTAssertEqual(log.skipped.first?.line, 3)
        XCTAssertTrue(log.skippedSummary?.contains("line 3: incomplete last line") ?? false, log.skippedSummary ?? "")
    }

    func testNullLossAndGarbageAreSkippedWithReasons() {
        let text = "{\"step\":1,\"loss\":null}\nnot json\n{\"loss\":2}\n{\"step\":4,\"loss\":2.5}\n"
        let log = MetricsLog(text: text)
        XCTAssertEqual(log.steps.map(\.step), [4])
        XCTAssertEqual(log.skipped.map(\.line), [1, 2, 3])
        XCTAssertTrue(log.skipped[0].reason.contains("not a finite number"))
        XCTAssertEqual(log.skipped[1].reason, "not a JSON object")
        XCTAssertEqual(log.skipped[2].reason, "no \"step\"")
    }

    func testAResumedRunKeepsTheLastRecordOfAStep() {
        let log = MetricsLog(text: "{\"step\":1,\"loss\":4}\n{\"step\":2,\"loss\":3}\n{\"step\":2,\"loss\":2.9}\n")
        XCTAssertEqual(log.steps.map(\.loss), [4, 2.9])
    }
}
