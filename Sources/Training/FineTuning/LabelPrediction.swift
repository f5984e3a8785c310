import Config
import Foundation

/// A classifier's verdict on one text: every label's softmax probability and the most likely label.
public struct LabelPrediction {
    /// Label names in id order (the run's model.label_names, or "0", "1", … when they do not match).
    public let names: [String]
    /// Softmax probability of each label, in id order.
    public let probabilities: [Double]
    /// The most likely label (the first of equals).
    public let best: Int

    /// The prediction from K = `run.family.numLabels` classifier logits.
    public init(logits: UnsafePointer<Float>, run: RunConfig) {
        let K = run.family.numLabels
        var names = run.family.labelNames.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if names.count != K { names = (0..<K).map { String($0) } }
        let probabilities = TextPredictor.softmax(logits, count: K)
        var best = 0
        for k in 1..<K where probabilities[k] > probabilities[best] { best = k }
        self.names = names
        self.probabilities = probabilities
        self.best = best
    }
}
