# The module around torch.nn.Transformer that `model.arch: transformer` is at parity with, shared by
# make_transformer_parity.py and check_transformer_export.py: one embedding (V, C) shared by source,
# target and the output projection (logits = decoder output · Eᵀ, no bias), embeddings scaled by
# √d_model plus the sinusoidal table PE(pos, 2i) = sin(pos/10000^(2i/C)), PE(pos, 2i+1) = cos(…), and
# nn.Transformer(batch_first=True, norm_first=False, activation='relu') between.
import math, torch, torch.nn as nn


class Model(nn.Module):
    def __init__(self, V, C, dtype=torch.float64, **transformer):
        super().__init__()
        self.C, self.dtype = C, dtype
        self.embedding = nn.Embedding(V, C)
        self.transformer = nn.Transformer(d_model=C, activation='relu', batch_first=True, norm_first=False, **transformer)

    def embed(self, ids):
        C, P = self.C, ids.shape[1]
        pos = torch.arange(P, dtype=self.dtype)[:, None]
        i2 = torch.arange(0, C, 2, dtype=self.dtype)
        angle = pos / torch.pow(10000.0, i2 / C)
        pe = torch.zeros(P, C, dtype=self.dtype)
        pe[:, 0::2] = torch.sin(angle); pe[:, 1::2] = torch.cos(angle)
        return self.embedding(ids) * math.sqrt(C) + pe

    def forward(self, src, src_pad, dec, tgt_pad):
        causal = torch.triu(torch.ones(dec.shape[1], dec.shape[1], dtype=torch.bool), 1)
        h = self.transformer(self.embed(src), self.embed(dec), tgt_mask=causal, src_key_padding_mask=src_pad,
                             tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad, tgt_is_causal=True)
        return h @ self.embedding.weight.t()
