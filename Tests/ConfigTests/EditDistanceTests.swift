import Config
import XCTest

/// Levenshtein distances worked out by hand, and the suggestion threshold.
final class EditDistanceTests: XCTestCase {
    func testDistances() {
        XCTAssertEqual(EditDistance.between("kitten", "sitting"), 3)
        XCTAssertEqual(EditDistance.between("", "abc"), 3)
        XCTAssertEqual(EditDistance.between("lr", "lr"), 0)
        XCTAssertEqual(EditDistance.between("flaw", "lawn"), 2)
    }

    func testNearestOnlySuggestsPlausibleTypos() {
        XCTAssertEqual(EditDistance.nearest(to: "n_layers", in: ["n_layer", "n_head", "d_model"]), "n_layer")
        XCTAssertNil(EditDistance.nearest(to: "completely_different", in: ["lr", "eps"]))
    }
}
