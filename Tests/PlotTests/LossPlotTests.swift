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

    /// The learning-rate and gradient-norm panels draw each step's value on axes from 0 to the largest
    /// (a larger value is higher up); a panel without values says so.
    func testLearningRateAndGradientNormPanels() throws {
        var text = ""
        for s in 1...30 { text += "{\"step\":\(s),\"loss\":\(4.0 - Double(s) / 10),\"lr\":\(3e-4 * Double(min(s, 10)) / 10),\"grad_norm\":\(Double(s % 7) + 0.5)}\n" }
        let svg = try LossPlot(log: MetricsLog(text: text), title: "lr").svg()
        let lr = try points(svg, id: "learning-rate"), grad = try points(svg, id: "grad-norm")
        XCTAssertEqual(lr.count, 30)
        XCTAssertEqual(grad.count, 30)
        XCTAssertGreaterThan(lr[0].1, lr[9].1, "warm-up: the learning rate rises (y falls)")
        XCTAssertEqual(lr[9].1, lr[29].1, accuracy: 1e-9, "then stays")
        XCTAssertEqual(grad[5].1, grad.map(\.1).min()!, accuracy: 1e-9, "step 6 has the largest norm (6.5)")
        XCTAssertEqual(grad[6].1, grad.map(\.1).max()!, accuracy: 1e-9, "step 7 the smallest (0.5)")
        XCTAssertTrue(svg.contains("not in the metrics file"), "no tokens/s: the panel says so")
        XCTAssertFalse(svg.contains("id=\"tokens-per-second\""))
    }

    /// The smoothed loss: the first value is the first loss, a constant stays constant, an alternating
    /// series settles on its mean, and it is drawn with one point per step beside the raw one.
    func testSmoothedLossFollowsTheRawOne() throws {
        XCTAssertEqual(LossPlot.smoothed([5, 5, 5, 5]), [5, 5, 5, 5])
        let alternating = (0..<400).map { $0 % 2 == 0 ? 1.0 : 3.0 }
        let smooth = LossPlot.smoothed(alternating)
        XCTAssertEqual(smooth[0], 1)
        // span 400/20 = 20 steps: w = 0.95; the wobble left is (1 − w)/(1 + w) ≈ 0.026 of the ±1 swing.
        for v in smooth.suffix(100) { XCTAssertEqual(v, 2, accuracy: 0.03) }
        // Independently: the plain recurrence in Double, debiased.
        var average = 0.0
        for (k, v) in alternating.enumerated() {
            average = 0.95 * average + 0.05 * v
            XCTAssertEqual(smooth[k], average / (1 - pow(0.95, Double(k + 1))), accuracy: 1e-9)
        }
        let svg = try LossPlot(log: log(steps: 37, evalEvery: 10), title: "s").svg()
        XCTAssertEqual(try points(svg, id: "train-loss-smoothed").count, 37)
        XCTAssertEqual(try points(svg, id: "train-loss-smoothed")[0].1, try points(svg, id: "train-loss")[0].1, accuracy: 1e-6)
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
