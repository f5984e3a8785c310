import Foundation

extension TransformerModel {
    /// The constructor arguments of the module the export's `model.safetensors` is the state_dict of:
    /// `embedding = nn.Embedding(vocab_size, d_model)` (shared by source, target and the output
    /// projection, scaled by √d_model, plus sinusoidal positions) and `transformer = nn.Transformer(d_model,
    /// nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout, activation="relu",
    /// layer_norm_eps, batch_first=True, norm_first=False)`, with the token ids.
    public var torchConfig: [String: Any] {
        [
            "architecture": "torch.nn.Transformer", "vocab_size": config.vocabSize, "d_model": config.dModel, "nhead": config.numHeads,
            "num_encoder_layers": config.numEncoderLayers, "num_decoder_layers": config.numDecoderLayers,
            "dim_feedforward": config.dimFeedforward, "dropout": Double(config.dropout), "activation": "relu",
            "layer_norm_eps": Double(config.layerNormEps), "batch_first": true, "norm_first": false,
            "max_positions": config.maxPositions, "label_smoothing": Double(config.labelSmoothing),
            "pad_token_id": Int(config.padTokenId), "eos_token_id": Int(config.eosTokenId), "decoder_start_token_id": Int(config.eosTokenId),
        ]
    }

    /// Writes `model.safetensors` (every parameter under its PyTorch name: `embedding.weight`,
    /// `transformer.encoder.layers.0.self_attn.in_proj_weight`, …, loadable with
    /// `load_state_dict(strict=True)`) and `config.json` (`torchConfig`) into `directory` (created if needed).
    public func exportTorch(to directory: String) throws {
        try HuggingFaceFiles.write(layout, params: params.pointer, config: torchConfig, to: directory)
    }
}
