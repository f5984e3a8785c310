import Foundation

/// Conversion between checkpoints and Hugging Face GPT-2 directories (`model.safetensors` +
/// `config.json` + `tokenizer.json`), as `transformers`' `GPT2LMHeadModel` saves and loads them; a
/// classifier (`GPTConfig.numLabels` > 0) is exported as `GPT2ForSequenceClassification`.
///
/// The flat layout already uses GPT-2's names and its Conv1D (in, out) weight layout, so parameters
/// are copied tensor by tensor without transposing. `lm_head.weight` is tied to
/// `transformer.wte.weight` and, as in Hugging Face's own files, not stored; a classifier's
/// `score.weight` (K, C) is stored under that name. Import reads the language-model tensors only.
public enum HuggingFaceGPT2 {
    /// The `config.json` fields of a GPT2LMHeadModel with this shape, or of a GPT2ForSequenceClassification
    /// when `model.numLabels` K > 0: `num_labels`, `id2label`/`label2id` (`labelNames`, else LABEL_k) and
    /// `pad_token_id` (the eos token, else 0): HF classifies each row at its rightmost non-pad token,
    /// which is our last token unless a text itself ends with that id.
    public static func configJSON(_ model: GPTConfig, bosToken: Int? = nil, eosToken: Int? = nil, labelNames: [String] = []) throws -> [String: Any] {
        guard model.positions == .learned, model.causal else {
            throw ModelError("only causal models with learned positions are GPT-2 models; this one has \(model.positions.rawValue) positions\(model.causal ? "" : " and bidirectional attention")")
        }
        var json: [String: Any] = [
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "vocab_size": model.vocabSize, "n_positions": model.maxSeqLen, "n_ctx": model.maxSeqLen,
            "n_embd": model.dModel, "n_layer": model.nLayer, "n_head": model.nHead, "n_inner": NSNull(),
            "activation_function": "gelu_new", "layer_norm_epsilon": Double(model.layerNormEps),
            "resid_pdrop": Double(model.residualDropout), "embd_pdrop": Double(model.embeddingDropout),
            "attn_pdrop": Double(model.attentionDropout), "initializer_range": 0.02, "tie_word_embeddings": true,
            "scale_attn_weights": true, "use_cache": true, "torch_dtype": "float32",
        ]
        json["bos_token_id"] = bosToken.map { $0 as Any } ?? NSNull()
        json["eos_token_id"] = eosToken.map { $0 as Any } ?? NSNull()
        if model.numLabels > 0 {
            let K = model.numLabels
            let names = labelNames.count == K ? labelNames : (0..<K).map { "LABEL_\($0)" }
            json["architectures"] = ["GPT2ForSequenceClassification"]
            json["num_labels"] = K
            json["id2label"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ("\($0.offset)", $0.element) })
            json["label2id"] = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
            json["pad_token_id"] = eosToken ?? 0
        }
        return json
    }

    /// Writes `params` (laid out for `model`) as a Hugging Face GPT-2 directory at `out`; copies
    /// `tokenizer` in when given. A classifier's labels are named by `labelNames` (K of them) when given.
    /// Returns the files written.
    @discardableResult
    public static func export(params: UnsafeBufferPointer<Float>, model: GPTConfig, tokenizer: String?, to out: String,
                              labelNames: [String] = []) throws -> [String] {
        let layout = GPTLayout(config: model)
        precondition(params.count == layout.count, "parameter buffer does not match the model")
        let endOfText = tokenizer.flatMap(Self.endOfTextID)
        let json = try configJSON(model, bosToken: endOfText, eosToken: endOfText, labelNames: labelNames)
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw ModelError("cannot create \(out): \(error.localizedDescription)")
        }
        let raw = UnsafeRawBufferPointer(params)
        let tensors = layout.tensors.map { t in
            SafeTensors.Output(name: t.name, dtype: .f32, shape: t.shape,
                               bytes: UnsafeRawBufferPointer(rebasing: raw[(t.offset * 4)..<((t.offset + t.count) * 4)]))
        }
        do {
            try SafeTensors.write(tensors, metadata: ["format": "pt"], to: out + "/model.safetensors")
            let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: out + "/config.json"))
            var files = ["model.safetensors", "config.json"]
            if let tokenizer {
                try? FileManager.default.removeItem(atPath: out + "/tokenizer.json")
                try FileManager.default.copyItem(atPath: tokenizer, toPath: out + "/tokenizer.json")
                files.append("tokenizer.json")
            }
            return files
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError("cannot write \(out): \(error.localizedDescription)")
        }
    }

    /// The id of `<|endoftext|>` among a tokenizer.json's added tokens (GPT-2's bos and eos), or nil.
    static func endOfTextID(_ tokenizer: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: tokenizer),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let added = json["added_tokens"] as? [[String: Any]] else { return nil }
        return added.first { $0["content"] as? String == "<|endoftext|>" }?["id"] as? Int
    }

    /// Reads a Hugging Face GPT-2 directory: the model shape from `config.json` and every parameter
    /// from `model.safetensors` (names with or without the `transformer.` prefix; F32, F16, BF16).
    public static func load(directory dir: String) throws -> (model: GPTConfig, params: FlatBuffer) {
        let configPath = dir + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ModelError("\(configPath): no such file; give a Hugging Face GPT-2 directory (config.json + model.safetensors)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("\(configPath) is not a JSON object")
        }
        if let type = json["model_type"] as? String, type != "gpt2" {
            throw ModelError("\(configPath): model_type is \(type); only gpt2 can be imported")
        }
        func int(_ key: String, _ fallback: String? = nil) throws -> Int {
            if let v = json[key] as? Int { return v }
            if let fallback, let v = json[fallback] as? Int { return v }
            throw ModelError("\(configPath): \(key) is missing or not an integer")
        }
        var model = GPTConfig(vocabSize: try int("vocab_size"), maxSeqLen: try int("n_positions", "n_ctx"),
                              nLayer: try int("n_layer"), nHead: try int("n_head"), dModel: try int("n_embd"))
        if let eps = json["layer_norm_epsilon"] as? Double { model.layerNormEps = Float(eps) }
        if let inner = json["n_inner"] as? Int, inner != 4 * model.dModel {
            throw ModelError("\(configPath): n_inner \(inner) is not 4 × n_embd; this model's MLP is always 4 × d_model wide")
        }
        if let act = json["activation_function"] as? String, act != "gelu_new", act != "gelu_pytorch_tanh" {
            throw ModelError("\(configPath): activation_function \(act); this model computes gelu_new (tanh approximation) only")
        }
        do { try model.validate() } catch let e as ModelError { throw ModelError("\(configPath): \(e.message)") }
        let file = dir + "/model.safetensors"
        let st: SafeTensors
        st = try SafeTensors(path: file)
        let layout = GPTLayout(config: model)
        let params = try FlatBuffer(count: layout.count)
        for t in layout.tensors {
            let short = t.name.hasPrefix("transformer.") ? String(t.name.dropFirst("transformer.".count)) : t.name
            guard let name = [t.name, short].first(where: { st.entries[$0] != nil }) else {
                throw ModelError("\(file) has no tensor \(t.name) (nor \(short)); it does not match config.json")
            }
            let entry = st.entries[name]!
            guard entry.shape == t.shape else {
                throw ModelError("\(file): \(name) has shape \(entry.shape), config.json implies \(t.shape)")
            }
            try st.read(name, into: params.pointer + t.offset, count: t.count)
        }
        return (model, params)
    }
}
