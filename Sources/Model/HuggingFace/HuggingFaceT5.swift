import Foundation

// Hugging Face T5 interchange: `model.safetensors` + `config.json` as `T5ForConditionalGeneration`
// writes and reads them. The layout already uses HF names and shapes, so tensors copy by name. A tied
// model stores `shared.weight` once (HF's encoder/decoder `embed_tokens` and `lm_head` are tied to it);
// an untied one (T5 v1.1) adds `lm_head.weight`. transformers 5 records the d_model^-0.5 output scaling
// as `scale_decoder_outputs` (older versions read it from `tie_word_embeddings`); both are written.

extension T5 {
    /// The Hugging Face `config.json` fields for this model.
    public var huggingFaceConfig: [String: Any] {
        [
            "architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
            "vocab_size": config.vocabSize, "d_model": config.dModel, "d_kv": config.dKV, "d_ff": config.dFF,
            "num_layers": config.numLayers, "num_decoder_layers": config.numDecoderLayers, "num_heads": config.numHeads,
            "relative_attention_num_buckets": config.relativeAttentionNumBuckets,
            "relative_attention_max_distance": config.relativeAttentionMaxDistance,
            "feed_forward_proj": config.feedForward.rawValue, "dropout_rate": Double(config.dropoutRate),
            "layer_norm_epsilon": Double(config.layerNormEps), "is_encoder_decoder": true,
            "tie_word_embeddings": config.tieWordEmbeddings, "scale_decoder_outputs": config.tieWordEmbeddings,
            "pad_token_id": Int(config.padTokenId), "eos_token_id": Int(config.eosTokenId),
            "decoder_start_token_id": Int(config.decoderStartTokenId),
        ]
    }

    /// Writes `model.safetensors` and `config.json` into `directory` (created if needed), so
    /// `T5ForConditionalGeneration.from_pretrained(directory)` loads this model. A task `prefix` (the
    /// one it was fine-tuned with) becomes `config.prefix`, which Hugging Face's text2text,
    /// translation and summarization pipelines put before every input.
    public func exportHuggingFace(to directory: String, prefix: String = "") throws {
        var config = huggingFaceConfig
        if !prefix.isEmpty { config["prefix"] = prefix }
        try HuggingFaceFiles.write(layout, params: params.pointer, config: config, to: directory)
    }

    /// The task prefix of a Hugging Face T5 directory (`config.prefix`), "" when it has none.
    public static func huggingFacePrefix(directory: String) -> String {
        guard let data = FileManager.default.contents(atPath: directory + "/config.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return "" }
        return json["prefix"] as? String ?? ""
    }

    /// The model config a Hugging Face T5 directory describes; throws a one-line error for one this
    /// model cannot run. Untied means the file has its own `lm_head.weight` and no output scaling.
    public static func huggingFaceConfig(directory: String) throws -> T5Config {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError("\(path): missing or not a JSON object; point at a directory saved by Hugging Face `save_pretrained` or `pretrain checkpoint export`")
        }
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            guard let v = (json[key] as? Int) ?? fallback else { throw ModelError("\(path): \(key) is missing or not an integer") }
            return v
        }
        if let type = json["model_type"] as? String, type != "t5" {
            throw ModelError("\(path): model_type is \(type), not t5; a T5 import needs a T5 checkpoint")
        }
        var c = T5Config()
        c.vocabSize = try int("vocab_size")
        c.dModel = try int("d_model")
        c.dKV = try int("d_kv")
        c.dFF = try int("d_ff")
        c.numLayers = try int("num_layers")
        c.numDecoderLayers = try int("num_decoder_layers", c.numLayers)
        c.numHeads = try int("num_heads")
        c.relativeAttentionNumBuckets = try int("relative_attention_num_buckets", 32)
        c.relativeAttentionMaxDistance = try int("relative_attention_max_distance", 128)
        let proj = (json["feed_forward_proj"] as? String) ?? "relu"
        guard let ff = T5Config.FeedForward(rawValue: proj) else {
            throw ModelError("\(path): feed_forward_proj is \(proj); only relu and gated-gelu are supported")
        }
        c.feedForward = ff
        c.layerNormEps = Float((json["layer_norm_epsilon"] as? Double) ?? 1e-6)
        c.dropoutRate = Float((json["dropout_rate"] as? Double) ?? 0.1)
        c.padTokenId = Int32(try int("pad_token_id", 0))
        c.eosTokenId = Int32(try int("eos_token_id", 1))
        if let start = json["decoder_start_token_id"] as? Int, Int32(start) != c.padTokenId {
            throw ModelError("\(path): decoder_start_token_id \(start) differs from pad_token_id \(c.padTokenId); T5 starts decoding from the padding id")
        }
        let scaled = (json["scale_decoder_outputs"] as? Bool) ?? (json["tie_word_embeddings"] as? Bool) ?? true
        let ownHead = try SafeTensors(path: directory + "/model.safetensors").entries["lm_head.weight"] != nil
        guard scaled != ownHead || !ownHead else {
            throw ModelError("\(path): the checkpoint has its own lm_head but scales the decoder output as a tied T5 does; only tied-and-scaled (T5 v1.0) or untied-and-unscaled (T5 v1.1) are supported")
        }
        c.tieWordEmbeddings = !ownHead
        if !ownHead, !scaled {
            throw ModelError("\(path): tie_word_embeddings / scale_decoder_outputs is false but the checkpoint has no lm_head.weight; the head cannot be found")
        }
        try c.validate()
        return c
    }

    /// Loads every parameter from a Hugging Face T5 directory's `model.safetensors` (F32, F16, BF16 or
    /// F64); throws naming the first missing or misshapen tensor.
    public func importHuggingFace(from directory: String) throws {
        try HuggingFaceFiles.read(layout, into: params.pointer, from: directory, hint: "feed_forward_proj or the layers differ?")
    }
}
