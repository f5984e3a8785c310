import Launch
import XCTest

/// OpenMPI's notices about non-zero exit statuses leave a job's output; everything else passes, at once.
final class OpenMPINoticeFilterTests: XCTestCase {
    let rule = String(repeating: "-", count: 74)

    /// Feeds `text` in pieces of `piece` bytes and returns what is shown.
    func shown(_ text: String, piece: Int) -> String {
        var filter = OpenMPINoticeFilter()
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            out += filter.feed(bytes[start..<min(bytes.count, start + piece)])
            start += piece
        }
        return String(decoding: out + filter.finish(), as: UTF8.self)
    }

    /// mpirun 4.1's output for two ranks exiting with status 2 after one error line (as it printed it
    /// here), and for a rank killed by a signal, which stays.
    func testTheNonZeroStatusNoticesGoAndOtherBlocksStay() {
        let job = """
            error: data.train: no files match /x/train_*.bin
            \(rule)
            Primary job  terminated normally, but 1 process returned
            a non-zero exit code. Per user-direction, the job has been aborted.
            \(rule)
            \(rule)
            mpirun detected that one or more processes exited with non-zero status, thus causing
            the job to be terminated. The first process to do so was:

              Process name: [[16920,1],1]
              Exit code:    2
            \(rule)
            \(rule)
            mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).
            \(rule)
            step 3 | loss 4.1
            \(rule.prefix(30))
            """
        let expected = """
            error: data.train: no files match /x/train_*.bin
            \(rule)
            mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).
            \(rule)
            step 3 | loss 4.1
            \(rule.prefix(30))
            """
        for piece in [1, 7, 100, 10_000] {
            XCTAssertEqual(shown(job, piece: piece), expected, "pieces of \(piece) bytes")
        }
    }

    /// A line without a newline yet (a prompt, a bar) is shown as soon as it arrives.
    func testAStartedLineIsShownAtOnce() {
        var filter = OpenMPINoticeFilter()
        XCTAssertEqual(String(decoding: filter.feed(Array("step 1/9 ███".utf8)), as: UTF8.self), "step 1/9 ███")
        XCTAssertEqual(String(decoding: filter.feed(Array("░ 10%\n---".utf8)), as: UTF8.self), "░ 10%\n")
        XCTAssertEqual(String(decoding: filter.finish(), as: UTF8.self), "---")
    }
}
