import Launch
import XCTest

final class HostfileTests: XCTestCase {
    func testParsesSlotsCommentsAndMergesRepeatedHosts() throws {
        let text = """
        # two machines
        node1 slots=4   # the first
        node2 slots=2 max_slots=8

        node1 slots=1
        """
        let hostfile = try Hostfile.parse(text, path: "hosts")
        XCTAssertEqual(hostfile.entries, [.init(host: "node1", slots: 5), .init(host: "node2", slots: 2)])
        XCTAssertEqual(hostfile.totalSlots, 7)
    }

    func testMissingFileSaysHowToWriteOne() {
        XCTAssertThrowsError(try Hostfile.load(path: "/nonexistent/hosts")) { error in
            let message = (error as? LaunchError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("/nonexistent/hosts: no such hostfile"), message)
            XCTAssertTrue(message.contains("node1 slots=4"), message)
        }
    }

    func testLineWithoutSlotsNamesLineHostAndFix() {
        XCTAssertThrowsError(try Hostfile.parse("node1 slots=2\nnode2\n", path: "h")) { error in
            XCTAssertEqual((error as? LaunchError)?.message,
                           "h:2: host node2 names no slots; write `node2 slots=N` (N = ranks to start there)")
        }
    }

    func testHostfileWithOnlyCommentsNamesNoMachines() {
        XCTAssertThrowsError(try Hostfile.parse("# nothing\n\n", path: "h")) { error in
            XCTAssertEqual((error as? LaunchError)?.message,
                           "h: hostfile names no machines; write one line per machine like `node1 slots=4`")
        }
    }

    func testSlotsMustBePositiveWholeNumbers() {
        for bad in ["0", "-1", "two", "1.5"] {
            XCTAssertThrowsError(try Hostfile.parse("a slots=\(bad)", path: "h"), bad) { error in
                XCTAssertEqual((error as? LaunchError)?.message,
                               "h:1: slots=\(bad) for a is not a positive whole number; write `a slots=N` with N ≥ 1")
            }
        }
    }

    func testUnknownFieldsAreNamed() {
        XCTAssertThrowsError(try Hostfile.parse("a slot=2", path: "h")) { error in
            XCTAssertEqual((error as? LaunchError)?.message, "h:1: unknown hostfile field `slot`; lines look like `a slots=N`")
        }
        XCTAssertThrowsError(try Hostfile.parse("a 2", path: "h")) { error in
            XCTAssertEqual((error as? LaunchError)?.message, "h:1: cannot read `2`; write `a slots=N`")
        }
    }
}
