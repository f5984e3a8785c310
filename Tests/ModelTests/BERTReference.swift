import Foundation
import Kernels
import KernelsTestSupport
import Model

/// A Double-precision BERT loss written from the kernels' Double references and the tensors' Hugging
/// Face names only (no flat-buffer offsets beyond `tensor(named:)`), for finite-difference checks of
/// `BERT`. Shapes as in BERT.swift.
struct BERTReference {
    let config: BERTConfig
    let layout: BERTLayout
    let tokens: [Int32], segments: [Int32], mask: [UInt8], targets: [Int32]
    /// NSP labels, or class ids for a classifier (`config.numLabels` > 0).
    let sequenceLabels: [Int32]?
    let B: Int, T: Int

    /// MLM mean cross-entropy over the targeted rows (models with the MLM head) plus the sequence head's
    /// mean cross-entropy (when labelled).
    func loss(_ p: [Double]) -> Double {
        let C = config.dModel, I = config.intermediateSize, V = config.vocabSize, NH = config.nHead, N = B * T
        let eps = Double(config.layerNormEps)
        func t(_ name: String) -> [Double] { Array(p[layout.tensor(named: name)!.range]) }
        func linear(_ x: [Double], _ name: String, rows: Int, IC: Int, OC: Int) -> [Double] {
            let y = LinearReference.forwardTransposed(inp: x, weight: t(name + ".weight"), N: rows, IC: IC, OC: OC)
            let b = t(name + ".bias")
            return y.indices.map { y[$0] + b[$0 % OC] }
        }
        func norm(_ x: [Double], _ name: String, rows: Int) -> [Double] {
            LayerNormReference.forward(inp: x, weight: t(name + ".weight"), bias: t(name + ".bias"), N: rows, C: C, eps: eps).out
        }
        func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map(+) }
        let word = t("bert.embeddings.word_embeddings.weight"), pos = t("bert.embeddings.position_embeddings.weight")
        let type = t("bert.embeddings.token_type_embeddings.weight")
        var x = [Double](repeating: 0, count: N * C)
        for n in 0..<N {
            for c in 0..<C { x[n * C + c] = word[Int(tokens[n]) * C + c] + pos[(n % T) * C + c] + type[Int(segments[n]) * C + c] }
        }
        x = norm(x, "bert.embeddings.LayerNorm", rows: N)
        for l in 0..<config.nLayer {
            let pre = "bert.encoder.layer.\(l)."
            func attention(_ h: [Double]) -> [Double] {
                let q = linear(h, pre + "attention.self.query", rows: N, IC: C, OC: C)
                let k = linear(h, pre + "attention.self.key", rows: N, IC: C, OC: C)
                let v = linear(h, pre + "attention.self.value", rows: N, IC: C, OC: C)
                var qkv = [Double]()
                for n in 0..<N {
                    let row: Range<Int> = (n * C)..<((n + 1) * C)
                    qkv.append(contentsOf: q[row])
                    qkv.append(contentsOf: k[row])
                    qkv.append(contentsOf: v[row])
                }
                let y = AttentionReference.forward(qkv: qkv, B: B, T: T, C: C, NH: NH, causal: false, keyPadding: mask).out
                return linear(y, pre + "attention.output.dense", rows: N, IC: C, OC: C)
            }
            func ffn(_ h: [Double]) -> [Double] {
                let u = GELUReference.forward(linear(h, pre + "intermediate.dense", rows: N, IC: C, OC: I), kind: .erf)
                return linear(u, pre + "output.dense", rows: N, IC: I, OC: C)
            }
            if config.norm == .post {
                let h = norm(add(x, attention(x)), pre + "attention.output.LayerNorm", rows: N)
                x = norm(add(h, ffn(h)), pre + "output.LayerNorm", rows: N)
            } else {
                let r = add(x, attention(norm(x, pre + "attention.output.LayerNorm", rows: N)))
                x = add(r, ffn(norm(r, pre + "output.LayerNorm", rows: N)))
            }
        }
        if config.norm == .pre { x = norm(x, "bert.encoder.LayerNorm", rows: N) }
        var total = 0.0
        if config.hasMLMHead {
        var h = GELUReference.forward(linear(x, "cls.predictions.transform.dense", rows: N, IC: C, OC: C), kind: .erf)
        h = norm(h, "cls.predictions.transform.LayerNorm", rows: N)
        let product = LinearReference.forwardTransposed(inp: h, weight: word, N: N, IC: C, OC: V)
        let bias = t("cls.predictions.bias")
        let logits = product.indices.map { product[$0] + bias[$0 % V] }
        let mlm = CrossEntropyReference.forward(logits: logits, targets: targets, N: N, V: V).losses
        let count = targets.filter { $0 != config.ignoreIndex }.count
        total = count > 0 ? mlm.reduce(0, +) / Double(count) : 0
        }
        if let sequenceLabels {
            var cls = [Double]()
            for b in 0..<B { cls.append(contentsOf: x[(b * T * C)..<(b * T * C + C)]) }
            let pooled = linear(cls, "bert.pooler.dense", rows: B, IC: C, OC: C).map { Foundation.tanh($0) }
            let K = config.sequenceLabels
            let head = linear(pooled, config.numLabels > 0 ? "classifier" : "cls.seq_relationship", rows: B, IC: C, OC: K)
            let losses = CrossEntropyReference.forward(logits: head, targets: sequenceLabels, N: B, V: K).losses
            total += losses.reduce(0, +) / Double(sequenceLabels.filter { $0 != config.ignoreIndex }.count)
        }
        return total
    }
}
