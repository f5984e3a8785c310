#!/usr/bin/env python3
"""PyTorch peer of `pretrain bench step --preset t5-s|t5-base`: Hugging Face T5ForConditionalGeneration
training steps on the CPU, eager.

Same shapes and options as `T5BenchPreset` (T5 v1.0: ReLU feed-forward, tied embeddings with the
d_model^-0.5 head scale, 32 position buckets up to distance 128, no dropout), the same batch (B
sequences of S random source ids and T random target ids from 2 up, no padding; `labels` = targets,
which HF shifts right into the decoder inputs), AdamW (lr 1e-4, betas .9/.95, eps 1e-8, wd 0.1 as our
defaults) with grad-norm clipping at 1. A step is forward + loss, zero_grad, backward, clipping, AdamW.
Tokens/s counts source + target tokens, B·(S + T), as ours does. The median of --steps timed steps
after --warmup untimed ones.
  python3 Tests/Peers/torch_t5.py --preset t5-s --threads 2 [--steps 8] [--warmup 2] [--precision bf16]
  python3 Tests/Peers/torch_t5.py --write-param-counts Tests/CLITests/Fixtures/t5-bench/param_counts.json
Prints one JSON line (prefix RESULT): median ms/step and tokens/s.
"""
import argparse, json, resource
import torch
from peer_steps import timed_steps
from transformers import T5Config, T5ForConditionalGeneration

PRESETS = {"t5-s": dict(vocab=8192, d_model=384, d_kv=64, d_ff=1536, layers=6, heads=6, batch=4, source=256, target=256),
           "t5-base": dict(vocab=32128, d_model=768, d_kv=64, d_ff=3072, layers=12, heads=12, batch=4, source=256, target=256)}


def build(name):
    c = PRESETS[name]
    cfg = T5Config(vocab_size=c["vocab"], d_model=c["d_model"], d_kv=c["d_kv"], d_ff=c["d_ff"], num_layers=c["layers"],
                   num_decoder_layers=c["layers"], num_heads=c["heads"], relative_attention_num_buckets=32,
                   relative_attention_max_distance=128, dropout_rate=0.0, feed_forward_proj="relu", tie_word_embeddings=True,
                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    return c, T5ForConditionalGeneration(cfg)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())  # tied tensors counted once


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="t5-s", choices=sorted(PRESETS)); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8); ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--write-param-counts", metavar="PATH", help="write {preset: parameter count} of every preset and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.write_param_counts:
        counts = {name: parameter_count(build(name)[1]) for name in sorted(PRESETS)}
        with open(a.write_param_counts, "w") as f:
            json.dump(dict(counts, made_by="Tests/Peers/torch_t5.py --write-param-counts", transformers=__import__("transformers").__version__),
                      f, indent=1, sort_keys=True)
            f.write("\n")
        return
    torch.manual_seed(1337)
    c, model = build(a.preset)
    model.train()
    B, S, T, V = c["batch"], c["source"], c["target"], c["vocab"]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    g = torch.Generator().manual_seed(42)
    source = torch.randint(2, V, (B, S), generator=g)
    labels = torch.randint(2, V, (B, T), generator=g)

    def forward(_):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            return model(input_ids=source, labels=labels).loss
    med, loss = timed_steps(model, opt, a.warmup, a.steps, forward)
    print("RESULT " + json.dumps(dict(preset=a.preset, threads=a.threads, precision=a.precision, parameters=parameter_count(model),
                                      tokens_per_step=B * (S + T), ms_per_step=round(med * 1000, 1), tokens_per_s=int(B * (S + T) / med),
                                      steps=a.steps, loss=round(loss.item(), 4), peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                                      attention=model.config._attn_implementation, torch=torch.__version__)))


if __name__ == "__main__":
    main()
