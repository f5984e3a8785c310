import Foundation

/// A Hugging Face BERT as users have one: a `save_pretrained` directory of `BertModel`,
/// `BertForMaskedLM`, `BertForPreTraining` or `BertForSequenceClassification`, or a
/// sentence-transformers directory (the model at its root or in `0_Transformer/`).
///
/// The architecture comes from config.json's `architectures` (inferred from the tensors when it is
/// absent). `BertModel` has no heads, so the model made from it is a masked-LM BERT whose MLM head
/// starts as initialised; the tensors a model does not use (a `BertModel`'s pooler) are reported.
/// Weight names are matched with or without the `bert.` prefix (`BertModel` saves none).
public struct HuggingFaceBERTDirectory {
    /// The architectures that import, in the order error messages list them.
    public static let supportedArchitectures = ["BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification"]

    /// The directory holding config.json and model.safetensors (`0_Transformer/` for an older
    /// sentence-transformers layout).
    public let directory: String
    /// One of `supportedArchitectures`.
    public let architecture: String
    /// The model config: post-LN; NSP for `BertForPreTraining`, the labels of a classifier.
    public let config: BERTConfig
    /// A classifier's `id2label` in id order (empty otherwise, or when the file names none).
    public let labelNames: [String]
    let weights: SafeTensors

    /// Where the model files of `path` are: `path` itself or its `0_Transformer/` (nil: neither has a config.json).
    public static func modelDirectory(_ path: String) -> String? {
        [path, path + "/0_Transformer"].first { FileManager.default.fileExists(atPath: $0 + "/config.json") }
    }

    /// Reads the config and opens the weights; one-line `ModelError`s for an unsupported architecture,
    /// a checkpoint without safetensors or a config this model cannot run.
    public init(path: String) throws {
        directory = Self.modelDirectory(path) ?? path
        let configPath = directory + "/config.json"
        let json = FileManager.default.contents(atPath: configPath).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        let weightsPath = directory + "/model.safetensors"
        if !FileManager.default.fileExists(atPath: weightsPath), FileManager.default.fileExists(atPath: directory + "/pytorch_model.bin") {
            throw ModelError("\(directory) holds pytorch_model.bin but no model.safetensors; pretrain reads safetensors only — convert with `AutoModel.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)`")
        }
        var c = try BERT.huggingFaceConfig(directory: directory)
        weights = try SafeTensors(path: weightsPath)
        let named = (json["architectures"] as? [String])?.first
        let inferred = c.numLabels > 0 ? "BertForSequenceClassification" : c.nsp ? "BertForPreTraining"
            : weights.entries.keys.contains { $0.hasPrefix("cls.predictions.") } ? "BertForMaskedLM" : "BertModel"
        architecture = named ?? inferred
        guard Self.supportedArchitectures.contains(architecture) else {
            throw ModelError("\(configPath): architectures is \(architecture); pretrain imports \(Self.supportedArchitectures.joined(separator: ", ")) (and sentence-transformers directories of a BertModel)")
        }
        c.nsp = architecture == "BertForPreTraining"
        if architecture != "BertForSequenceClassification" { c.numLabels = 0 }
        if architecture == "BertForSequenceClassification", c.numLabels == 0 {
            throw ModelError("\(weightsPath): a BertForSequenceClassification without a 'classifier.weight' tensor")
        }
        if let problem = json["problem_type"] as? String, problem != "single_label_classification", c.numLabels > 0 {
            throw ModelError("\(configPath): problem_type is \(problem); pretrain fine-tunes and predicts single-label classifiers only")
        }
        config = c
        let id2label = json["id2label"] as? [String: Any] ?? [:]
        let names = (0..<c.numLabels).map { id2label[String($0)] as? String }
        labelNames = names.contains(nil) ? [] : names.compactMap { $0 }
    }

    /// Initialises `model` (a model of `config`) from `seed`, then reads every tensor the directory has;
    /// returns the tensors left as initialised (heads the file lacks) and the file's tensors the model
    /// does not use. The encoder must be complete (one-line error naming the first missing tensor).
    public func load(into model: BERT, seed: UInt64) throws -> (fresh: [String], unused: [String]) {
        model.initializeWeights(seed: seed)
        var used: Set<String> = []
        var fresh: [String] = []
        for t in model.layout.tensors {
            let candidates = [t.name] + (t.name.hasPrefix("bert.") ? [String(t.name.dropFirst(5))] : [])
                + (t.name == "cls.predictions.bias" ? ["cls.predictions.decoder.bias"] : [])
            guard let name = candidates.first(where: { weights.entries[$0] != nil }) else {
                if t.name.hasPrefix("bert.embeddings.") || t.name.hasPrefix("bert.encoder.") {
                    throw ModelError("\(weights.path): no tensor '\(t.name)' (nor without the 'bert.' prefix); the file is not a complete \(architecture)")
                }
                fresh.append(t.name)
                continue
            }
            let e = weights.entries[name]!
            guard e.shape == t.shape else {
                throw ModelError("\(weights.path): tensor '\(name)' has shape \(e.shape), the model expects \(t.shape); config.json and the weights disagree")
            }
            try weights.read(name, into: model.params.pointer + t.offset, count: t.count)
            used.insert(name)
        }
        // Buffers and the decoder weight tied to the word embeddings are not parameters.
        let ignored = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]
        let unused = weights.names.filter { !used.contains($0) && !$0.hasSuffix("position_ids") && !ignored.contains($0) }
        return (fresh, unused)
    }
}
