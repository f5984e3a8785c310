import Foundation

// Hugging Face BERT interchange: `model.safetensors` + `config.json` as `BertForMaskedLM` (or
// `BertForPreTraining` with the NSP head) writes and reads them. The layout already uses HF names and
// (out, in) shapes, so export and import copy tensors by name; the decoder weight is tied to the word
// embeddings and its bias is `cls.predictions.bias`, so neither is stored twice.

extension BERT {
    /// The Hugging Face `config.json` fields for this model (post-LN only); a classifier's
    /// `id2label`/`label2id` name `labelNames` (LABEL_k when they are not one per label).
    public func huggingFaceConfig(padTokenID: Int = 0, labelNames: [String] = []) throws -> [String: Any] {
        guard config.norm == .post else {
            throw ModelError("model.norm pre has no Hugging Face BERT counterpart; export needs a post-LN model (model.norm: post)")
        }
        let architecture = config.numLabels > 0 ? "BertForSequenceClassification" : (config.nsp ? "BertForPreTraining" : "BertForMaskedLM")
        var json: [String: Any] = [
            "architectures": [architecture], "model_type": "bert",
            "vocab_size": config.vocabSize, "hidden_size": config.dModel, "num_hidden_layers": config.nLayer,
            "num_attention_heads": config.nHead, "intermediate_size": config.intermediateSize, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "max_position_embeddings": config.maxSeqLen,
            "type_vocab_size": config.typeVocabSize, "layer_norm_eps": Double(config.layerNormEps), "initializer_range": 0.02,
            "pad_token_id": padTokenID, "position_embedding_type": "absolute", "tie_word_embeddings": true,
        ]
        if config.numLabels > 0 {
            let names = labelNames.count == config.numLabels && Set(labelNames).count == labelNames.count ? labelNames
                : (0..<config.numLabels).map { "LABEL_\($0)" }
            json["id2label"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ("\($0.offset)", $0.element) })
            json["label2id"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
            json["num_labels"] = config.numLabels
        }
        return json
    }

    /// Writes `model.safetensors` and `config.json` into `directory` (created if needed), so
    /// `BertForMaskedLM.from_pretrained(directory)` loads this model.
    public func exportHuggingFace(to directory: String, padTokenID: Int = 0, labelNames: [String] = []) throws {
        try HuggingFaceFiles.write(layout, params: params.pointer, config: huggingFaceConfig(padTokenID: padTokenID, labelNames: labelNames), to: directory)
    }

    /// The model config a Hugging Face BERT directory describes (NSP when its weights hold the pooler
    /// and the next-sentence head); throws a one-line error for a config this model cannot run.
    public static func huggingFaceConfig(directory: String) throws -> BERTConfig {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError("\(path): missing or not a JSON object; point at a directory saved by Hugging Face `save_pretrained` or `pretrain` export")
        }
        func int(_ key: String) throws -> Int {
            guard let v = json[key] as? Int else { throw ModelError("\(path): \(key) is missing or not an integer") }
            return v
        }
        if let type = json["model_type"] as? String, type != "bert" {
            throw ModelError("\(path): model_type is \(type), not bert; a BERT import needs a BERT checkpoint")
        }
        if let act = json["hidden_act"] as? String, act != "gelu" {
            throw ModelError("\(path): hidden_act is \(act); only gelu (the exact erf form) is supported")
        }
        if let pos = json["position_embedding_type"] as? String, pos != "absolute" {
            throw ModelError("\(path): position_embedding_type is \(pos); only absolute positions are supported")
        }
        var c = BERTConfig(vocabSize: try int("vocab_size"), maxSeqLen: try int("max_position_embeddings"),
                           nLayer: try int("num_hidden_layers"), nHead: try int("num_attention_heads"), dModel: try int("hidden_size"))
        c.intermediateSize = try int("intermediate_size")
        c.typeVocabSize = (json["type_vocab_size"] as? Int) ?? 2
        c.layerNormEps = Float((json["layer_norm_eps"] as? Double) ?? 1e-12)
        let weights = try SafeTensors(path: directory + "/model.safetensors")
        if let classifier = weights.entries["classifier.weight"], classifier.shape.count == 2 {
            c.numLabels = classifier.shape[0]
        } else {
            c.nsp = weights.entries["cls.seq_relationship.weight"] != nil && weights.entries["bert.pooler.dense.weight"] != nil
        }
        try c.validate()
        return c
    }

    /// Loads every parameter of this model from a Hugging Face BERT directory's `model.safetensors`
    /// (F32, F16, BF16 or F64); throws naming the first missing or misshapen tensor.
    public func importHuggingFace(from directory: String) throws {
        try HuggingFaceFiles.read(layout, into: params.pointer, from: directory, hint: "model.nsp or model.norm differ?")
    }

    /// Fine-tuning start: loads the encoder body (`bert.embeddings.*`, `bert.encoder.*`, all required)
    /// from a Hugging Face BERT directory, and every other tensor of this model (pooler, heads) the file
    /// holds with the same shape; returns the names of the tensors left as initialised (the new head).
    /// The file's tensors this model lacks (e.g. the MLM head, for a classifier) are ignored.
    @discardableResult
    public func importBody(fromHuggingFace directory: String) throws -> [String] {
        let weights = try SafeTensors(path: directory + "/model.safetensors")
        var fresh: [String] = []
        for t in layout.tensors {
            let body = t.name.hasPrefix("bert.embeddings.") || t.name.hasPrefix("bert.encoder.")
            guard let e = weights.entries[t.name], e.shape == t.shape else {
                if body {
                    throw ModelError("\(weights.path): no tensor '\(t.name)' of shape \(t.shape); the checkpoint's encoder does not fit this model (model.norm, sizes or layers differ)")
                }
                fresh.append(t.name)
                continue
            }
            try weights.read(t.name, into: params.pointer + t.offset, count: t.count)
        }
        return fresh
    }
}
