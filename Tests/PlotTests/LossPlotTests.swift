import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Plot
import XCTest

/// The SVG: well-formed XML, one polyline point per record, points placed by the axes.
final class LossPlotTests: XCTestCase {
    /// The points of the polyline with `id`, after checking that the whole SVG is well-formed XML.
    func points(_ svg: String, id: String) throws -> [(Double, Double)] {
        let doc = try XMLDocument(xmlString: svg)
        XCTAssertEqual(doc.rootElement()?.localName, "svg")
        let pattern = try NSRegularExpression(pattern: "<polyline id=\"\(id)\"[^>]*points=\"([^\"]*)\"")
        let match = try XCTUnwrap(pattern.firstMatch(in: svg, range: NSRange(svg.startIndex..., in: svg)), "no polyline \(id)")
        let text = svg[Range(match.range(at: 1), in: svg)!]
        return text.split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").map { Double($0)! }
            return (xy[0], xy[1])
        }
    }

    func log(steps: Int, evalEvery: Int) -> MetricsLog {
        var text = ""
        for s in 1...steps {
            text += "{\"step\":\(s),\"loss\":\(5.0 / Double(s).squareRoot()),\"tokens_per_s\":\(1000 + 10 * s)}\n"
            if s % evalEvery == 0 { text += "{\"step\":\(s),\"val_loss\":\(5.5 / Double(s).squareRoot())}\n" }
        }
        return MetricsLog(text: text)
    }

    func testOnePointPerLoggedStepAndMonotoneMapping() throws {
        let svg = try LossPlot(log: log(steps: 37, evalEvery: 10), title: "run <tiny> & co").svg()
        let train = try points(svg, id: "train-loss")
        XCTAssertEqual(train.count, 37)
        XCTAssertEqual(try points(svg, id: "val-loss").count, 3)
        XCTAssertEqual(try points(svg, id: "tokens-per-second").count, 37)
        // x grows with the step; the loss falls, so y (downwards in SVG) grows too.
        for i in 1..<train.count {
            XCTAssertGreaterThan(train[i].0, train[i - 1].0)
            XCTAssertGreaterThan(train[i].1, train[i - 1].1)
        }
        // Equal steps map to equal x: the eval at step 10 sits above train step 10.
        XCTAssertEqual(try points(svg, id: "val-loss")[0].0, train[9].0, accuracy: 0.01)
        XCTAssertTrue(svg.contains("run &lt;tiny&gt; &amp; co"), "the title is escaped")
    }

    func testNoStepsIsAClearError() {
        XCTAssertThrowsError(try LossPlot(log: MetricsLog(text: ""), title: "x").svg()) { error in
            XCTAssertTrue("\(error)".contains("no step records"), "\(error)")
        }
    }

    func testSingleStepStillDraws() throws {
        let svg = try LossPlot(log: log(steps: 1, evalEvery: 5), title: "one").svg()
        XCTAssertEqual(try points(svg, id: "train-loss").count, 1)
    }
}
