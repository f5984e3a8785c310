import Foundation
import Plot
import XCTest

/// `MetricsRecord`: what `pretrain train` writes reads back the same, and files written before the
/// record existed still read.
final class MetricsRecordTests: XCTestCase {
    func testStepEvalAndCheckpointRecordsRoundTrip() throws {
        var step = MetricsRecord(kind: .step)
        (step.rank, step.step, step.loss, step.lr, step.gradNorm, step.tokensPerSecond, step.mfu) = (1, 7, 3.25, 6e-4, nil, 1234.5, 0.4321)
        (step.stepMs, step.computeMs, step.commMs, step.exposedCommMs, step.gradSyncMs) = (10.5, 8.25, 2, 0.5, 1.75)
        (step.gradSyncBytes, step.skipped, step.elapsedS) = (4096, false, 12.345)
        var eval = MetricsRecord(kind: .eval)
        (eval.rank, eval.step, eval.valLoss, eval.valPerplexity, eval.elapsedS) = (0, 7, 3.5, 33.1155, 13)
        var checkpoint = MetricsRecord(kind: .checkpoint)
        (checkpoint.checkpoint, checkpoint.step, checkpoint.path) = ("saved", 7, "runs/a/checkpoints/step-00000007")
        (checkpoint.storedBytes, checkpoint.rawBytes, checkpoint.stallMs, checkpoint.writeMs, checkpoint.commitMs) = (100, 400, 1.5, 20, 0.25)
        for record in [step, eval, checkpoint] {
            let line = try record.jsonLine()
            XCTAssertFalse(line.contains("\n"), line)
            XCTAssertEqual(try JSONDecoder().decode(MetricsRecord.self, from: Data(line.utf8)), record, line)
        }
        let stepLine = try step.jsonLine()
        XCTAssertEqual(stepLine, #"{"comm_ms":2,"compute_ms":8.25,"elapsed_s":12.345,"exposed_comm_ms":0.5,"grad_norm":null,"grad_sync_bytes":4096,"#
                       + #""grad_sync_ms":1.75,"loss":3.25,"lr":0.0006,"mfu":0.4321,"rank":1,"skipped":false,"step":7,"step_ms":10.5,"tokens_per_s":1234.5}"#)
        XCTAssertTrue(try checkpoint.jsonLine().contains("\"path\":\"runs/a/checkpoints/step-00000007\""))
    }

    /// Lines in the format TrainingReporter printed by hand before `MetricsRecord`.
    func testHandWrittenLinesOfEarlierRunsRead() throws {
        let lines = [
            #"{"rank":0,"step":3,"loss":5.123456,"lr":0.0003,"grad_norm":1.23457,"tokens_per_s":812.4,"mfu":0.4012,"step_ms":2520.125,"compute_ms":2400.000,"comm_ms":0.000,"exposed_comm_ms":0.000,"grad_sync_ms":0.000,"grad_sync_bytes":0,"skipped":false,"elapsed_s":7.600}"#,
            #"{"rank":0,"step":5,"val_loss":4.987654,"val_perplexity":146.5678,"elapsed_s":12.003}"#,
            #"{"checkpoint":"saved","step":5,"path":"runs/a/checkpoints/step-00000005","stored_bytes":12,"raw_bytes":48,"stall_ms":1.000,"write_ms":2.000,"commit_ms":3.000}"#,
        ]
        let records = try lines.map { try JSONDecoder().decode(MetricsRecord.self, from: Data($0.utf8)) }
        XCTAssertEqual(records.map(\.kind), [.step, .eval, .checkpoint])
        XCTAssertEqual(records[0].loss, 5.123456)
        XCTAssertEqual(records[0].gradSyncBytes, 0)
        XCTAssertEqual(records[0].skipped, false)
        XCTAssertEqual(records[1].valPerplexity, 146.5678)
        XCTAssertEqual(records[2].path, "runs/a/checkpoints/step-00000005")
        let log = MetricsLog(text: lines.joined(separator: "\n") + "\n")
        XCTAssertEqual(log.steps.map(\.step), [3])
        XCTAssertEqual(log.steps.map(\.loss), [5.123456])
        XCTAssertEqual(log.steps.map(\.tokensPerSecond), [812.4])
        XCTAssertEqual(log.steps.map(\.lr), [0.0003])
        XCTAssertEqual(log.evals, [MetricsLog.Eval(step: 5, loss: 4.987654)])
        XCTAssertTrue(log.skipped.isEmpty)
    }

    func testNumbersKeepThePrintedDigitsAndNonFiniteIsNull() throws {
        XCTAssertEqual(MetricsRecord.number(2.3456789, "%.6f"), 2.345679)
        XCTAssertNil(MetricsRecord.number(.nan, "%.6f"))
        XCTAssertNil(MetricsRecord.number(.infinity, "%.3f"))
        var eval = MetricsRecord(kind: .eval)
        (eval.rank, eval.step) = (0, 2)
        XCTAssertEqual(try eval.jsonLine(), #"{"elapsed_s":null,"rank":0,"step":2,"val_loss":null,"val_perplexity":null}"#)
    }

    /// The CSV twin: the header and rows TrainingReporter printed by hand before `MetricsRecord`.
    func testCSVHeaderAndRowsKeepTheirFormat() {
        XCTAssertEqual(MetricsRecord.csvHeader, "rank,step,loss,lr,grad_norm,tokens_per_s,mfu,step_ms,compute_ms,comm_ms,exposed_comm_ms,grad_sync_ms,grad_sync_bytes,skipped,val_loss,val_perplexity,elapsed_s")
        var step = MetricsRecord(kind: .step)
        (step.rank, step.step, step.loss, step.lr, step.gradNorm, step.tokensPerSecond, step.mfu) = (0, 3, 5.1234567, 3e-4, .nan, 812.44, 0.40123)
        (step.stepMs, step.computeMs, step.commMs, step.exposedCommMs, step.gradSyncMs) = (2520.1254, 2400, 0, 0, 0)
        (step.gradSyncBytes, step.skipped, step.elapsedS) = (0, false, 7.6)
        XCTAssertEqual(step.csvRow, String(format: "%d,%d,%.6f,%.6g,,%.1f,%.4f,%.3f,%.3f,%.3f,%.3f,%.3f,%d,false,,,%.3f",
                                           0, 3, 5.1234567, 3e-4, 812.44, 0.40123, 2520.1254, 2400.0, 0.0, 0.0, 0.0, 0, 7.6))
        var eval = MetricsRecord(kind: .eval)
        (eval.rank, eval.step, eval.valLoss, eval.valPerplexity, eval.elapsedS) = (1, 5, 4.9876543, 146.56789, 12.0031)
        XCTAssertEqual(eval.csvRow, "1,5,,,,,,,,,,,,,4.987654,146.5679,12.003")
    }
}
