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

    /// A fine-tuning run's eval records with val_accuracy add an accuracy panel on a fixed 0–1 axis:
    /// one point per evaluation, placed linearly (the gaps between points are in the ratio of the
    /// accuracies'), and the majority-class baseline dashed across the panel at the height 0.5 has
    /// between 0 and 1. A pretraining run (no accuracy) has neither, at the usual height.
    func testAccuracyPanelWithTheMajorityBaseline() throws {
        var text = ""
        let accuracies = [0.4, 0.55, 0.7, 0.85]
        for s in 1...40 {
            text += "{\"step\":\(s),\"loss\":\(2.0 - Double(s) / 40),\"lr\":0.001}\n"
            if s % 10 == 0 {
                text += "{\"step\":\(s),\"val_loss\":1.5,\"val_accuracy\":\(accuracies[s / 10 - 1]),\"val_baseline_accuracy\":0.5}\n"
            }
        }
        let log = MetricsLog(text: text)
        XCTAssertEqual(log.evals.map(\.accuracy), accuracies)
        XCTAssertEqual(log.evals.map(\.baseline), [0.5, 0.5, 0.5, 0.5])
        let svg = try LossPlot(log: log, title: "ft").svg()
        let acc = try points(svg, id: "val-accuracy"), base = try points(svg, id: "majority-baseline")
        XCTAssertEqual(acc.count, 4)
        XCTAssertEqual(acc.map(\.0), try points(svg, id: "val-loss").map(\.0), "at the evaluations' steps")
        // Linear in the accuracy: equal 0.15 steps give equal pixel steps, upwards.
        for i in 1..<4 { XCTAssertEqual(acc[i - 1].1 - acc[i].1, acc[0].1 - acc[1].1, accuracy: 1e-6) }
        XCTAssertGreaterThan(acc[0].1, acc[3].1)
        // The baseline: horizontal, and 0.5 is where the accuracy line's 0.4 → 0.85 mapping puts it.
        XCTAssertEqual(base.count, 2)
        XCTAssertEqual(base[0].1, base[1].1)
        let perUnit = (acc[0].1 - acc[3].1) / (0.85 - 0.4)
        XCTAssertEqual(base[0].1, acc[0].1 - 0.1 * perUnit, accuracy: 0.02)
        XCTAssertLessThanOrEqual(base[0].0, acc[0].0)
        XCTAssertGreaterThanOrEqual(base[1].0, acc[3].0)
        XCTAssertTrue(svg.contains("majority-class baseline 0.500"), "named in the legend")
        XCTAssertTrue(svg.contains("height=\"1214\""), "one more panel: 1040 + (1040 × 0.55 − 185) / 3 + 45")
        let pretraining = try LossPlot(log: self.log(steps: 20, evalEvery: 5), title: "lm").svg()
        XCTAssertFalse(pretraining.contains("val-accuracy") || pretraining.contains("majority-baseline"))
        XCTAssertTrue(pretraining.contains("height=\"1040\""))
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
