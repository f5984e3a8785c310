# Generates transformer-parity.safetensors: the reference for `model.arch: transformer` in
# TransformerModelTests.swift, computed by PyTorch's own torch.nn.Transformer (post-LayerNorm,
# norm_first=False, ReLU, with the final encoder and decoder LayerNorms it adds) in float64, stored as
# float32. Around it, as "Attention Is All You Need" builds it: one embedding (V, C) shared by source,
# target and the output projection (logits = decoder output · Eᵀ, no bias), embeddings scaled by
# √d_model plus the sinusoidal table PE(pos, 2i) = sin(pos/10000^(2i/C)), PE(pos, 2i+1) = cos(…).
# Loss: F.cross_entropy(label_smoothing=0.1, ignore_index=-100), the mean over target tokens.
# Usage: python3 make_transformer_parity.py (needs torch, safetensors); writes beside this file. The
# module is transformer_module.py's.
#
# Tensors: source I32 (B, S), source_mask I32 (B, S) (1 = token, 0 = padding; src_key_padding_mask and
# memory_key_padding_mask), decoder_input I32 (B, T) (EOS = 2 first, then the target shifted right),
# target_mask I32 (B, T) (tgt_key_padding_mask, with the causal tgt_mask), labels I32 (B, T) (-100 at
# padding), every parameter under its name in the module below (embedding.weight,
# transformer.encoder.layers.{l}.self_attn.in_proj_weight, …), logits F32 (B, T, V), loss F32 (1),
# grad.<name> for every parameter. Metadata `config`: the shape and the batch.
# Dropout is 0 and the model is in train mode (no fast path), so the result is deterministic.
import json, os, torch, torch.nn.functional as F
from safetensors.torch import save_file
from transformer_module import Model

here = os.path.dirname(os.path.abspath(__file__))
V, C, NH, LE, LD, FF, B, S, T = 23, 12, 3, 2, 2, 16, 2, 7, 6
EOS, PAD = 2, 1

torch.manual_seed(0)
model = Model(V, C, nhead=NH, num_encoder_layers=LE, num_decoder_layers=LD, dim_feedforward=FF,
              dropout=0.0).double().train()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith('norm1.weight') or name.endswith('norm2.weight') or name.endswith('norm3.weight') or name.endswith('norm.weight'):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif name == 'embedding.weight':
            p.copy_(0.3 * torch.randn_like(p))
        else:
            p.copy_(0.2 * torch.randn_like(p))
g = torch.Generator().manual_seed(1)
src = torch.randint(3, V, (B, S), generator=g)
src_mask = torch.ones(B, S, dtype=torch.long)
src[1, 4:] = PAD; src_mask[1, 4:] = 0
tgt = torch.randint(3, V, (B, T), generator=g)  # target tokens; the last of each row is EOS
tgt[0, T - 1] = EOS; tgt[1, 3] = EOS; tgt[1, 4:] = PAD
tgt_mask = torch.ones(B, T, dtype=torch.long); tgt_mask[1, 4:] = 0
labels = tgt.clone(); labels[tgt_mask == 0] = -100
dec = torch.cat([torch.full((B, 1), EOS), tgt[:, :-1]], dim=1)
dec_mask = torch.ones(B, T, dtype=torch.long); dec_mask[1, 5:] = 0   # the decoder input holds one more real token
logits = model(src, src_mask == 0, dec, dec_mask == 0)
loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100, label_smoothing=0.1)
model.zero_grad()
loss.backward()
res = {'source': src.int(), 'source_mask': src_mask.int(), 'decoder_input': dec.int(), 'target_mask': dec_mask.int(),
       'labels': labels.int(), 'logits': logits.detach().float(), 'loss': loss.detach().float().reshape(1)}
for n, p in model.named_parameters():
    res[n] = p.detach().float().contiguous()
    res['grad.' + n] = p.grad.float().contiguous()
meta = {'vocab_size': V, 'd_model': C, 'n_heads': NH, 'num_encoder_layers': LE, 'num_decoder_layers': LD,
        'dim_feedforward': FF, 'layer_norm_eps': 1e-5, 'label_smoothing': 0.1, 'batch': B, 'source': S, 'target': T,
        'eos': EOS, 'pad': PAD}
save_file(res, os.path.join(here, 'transformer-parity.safetensors'), metadata={'config': json.dumps(meta)})
print('loss', loss.item(), 'params', sum(p.numel() for p in model.parameters()))
