#!/usr/bin/env python3
"""PyTorch peer of `pretrain bench mlm`: Hugging Face BertForMaskedLM training steps on the CPU.

Same shapes (post-LN BERT, feed-forward 4·d, GELU erf, no dropout, tied decoder), the same batch
([CLS] A [SEP] of random tokens, 15 % of the content chosen, labels -100 elsewhere), AdamW (lr 1e-4,
betas .9/.95, eps 1e-8, wd 0.1 as our defaults) with grad-norm clipping at 1.
  python3 bench/torch_bert.py --config S --threads 2 [--steps 8] [--warmup 2] [--mask-rate 0.15]
Prints one JSON line (prefix RESULT): median ms/step and tokens/s.
"""
import argparse, json
import torch
from peer_steps import timed_steps
from transformers import BertConfig, BertForMaskedLM

CONFIGS = {"S": dict(vocab=8192, n_layer=6, n_head=6, d_model=384, seq_len=256, batch=8),
           "M": dict(vocab=50257, n_layer=12, n_head=12, d_model=768, seq_len=256, batch=4)}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="S"); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8); ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--mask-rate", type=float, default=0.15)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c = CONFIGS[a.config.upper()]
    B, T, V = c["batch"], c["seq_len"], c["vocab"]
    cfg = BertConfig(vocab_size=V, hidden_size=c["d_model"], num_hidden_layers=c["n_layer"], num_attention_heads=c["n_head"],
                     intermediate_size=4 * c["d_model"], max_position_embeddings=T, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0, attn_implementation="sdpa")
    model = BertForMaskedLM(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    g = torch.Generator().manual_seed(42)

    def prepare(_):
        ids = torch.randint(4, V, (B, T), generator=g); ids[:, 0] = 1; ids[:, -1] = 2
        chosen = torch.rand(B, T, generator=g) < a.mask_rate; chosen[:, 0] = False; chosen[:, -1] = False
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        return torch.where(chosen, torch.full_like(ids, 3), ids), labels
    med, loss = timed_steps(model, opt, a.warmup, a.steps, lambda batch: model(input_ids=batch[0], labels=batch[1]).loss, prepare)
    print("RESULT " + json.dumps(dict(config=a.config, threads=a.threads, ms_per_step=round(med * 1000, 1),
                                      tokens_per_s=int(B * T / med), loss=round(loss.item(), 4), torch=torch.__version__)))

if __name__ == "__main__":
    main()
