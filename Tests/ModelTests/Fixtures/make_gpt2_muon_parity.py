#!/usr/bin/env python3
"""Writes gpt2-muon-parity.safetensors: two optimizer steps of torch.optim.Muon (the blocks' weight
matrices) and torch.optim.AdamW (everything else) from gpt2-parity.safetensors' weights.

Step 1 takes that fixture's reference gradients (grad.*); step 2 takes a second gradient (grad2.*,
stored) scaled by 0.5, as global-norm clipping scales it. Muon: lr 1e-3, weight decay 0.1, momentum
0.95, Nesterov, adjust_lr_fn="match_rms_adamw"; AdamW: lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight
decay 0.1 on >= 2-D tensors. PyTorch runs Muon's Newton-Schulz iterations in bfloat16; here its
private _zeropower_via_newtonschulz is replaced by the same iteration in float64 (the Swift side
runs it in float32), so that the fixture is the algorithm, not bfloat16's rounding.

Usage: python3 make_gpt2_muon_parity.py   (needs torch >= 2.9 and safetensors; run from this folder)
"""
import json

import torch
import torch.optim._muon as muon_module
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def newton_schulz_float64(grad, coefficients, steps, eps):
    a, b, c = coefficients
    x = grad.double()
    if grad.size(0) > grad.size(1):
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.T
        poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, poly, x, beta=a)
    if grad.size(0) > grad.size(1):
        x = x.T
    return x.to(grad.dtype)


muon_module._zeropower_via_newtonschulz = newton_schulz_float64

source = load_file("gpt2-parity.safetensors")
with safe_open("gpt2-parity.safetensors", "pt") as f:
    config = json.loads(f.metadata()["config"])
names = [k for k in source if k.startswith("transformer.")]
params = {k: source[k].double().clone().requires_grad_(True) for k in names}
hidden = [p for k, p in params.items() if k.startswith("transformer.h.") and p.dim() == 2]
rest_decay = [p for k, p in params.items() if not (k.startswith("transformer.h.") and p.dim() == 2) and p.dim() >= 2]
rest_plain = [p for k, p in params.items() if p.dim() < 2]
settings = dict(lr=1e-3, weight_decay=0.1, momentum=0.95, betas=(0.9, 0.95), eps=1e-8)
muon = torch.optim.Muon(hidden, lr=settings["lr"], weight_decay=settings["weight_decay"], momentum=settings["momentum"],
                        nesterov=True, adjust_lr_fn="match_rms_adamw")
adamw = torch.optim.AdamW([{"params": rest_decay, "weight_decay": settings["weight_decay"]},
                           {"params": rest_plain, "weight_decay": 0.0}],
                          lr=settings["lr"], betas=settings["betas"], eps=settings["eps"])

generator = torch.Generator().manual_seed(20261203)
second = {k: (0.5 * source["grad." + k].double() + 0.01 * torch.randn(source[k].shape, generator=generator, dtype=torch.float64)).float()
          for k in names}
out = {}
for step, (gradients, scale) in enumerate([({k: source["grad." + k] for k in names}, 1.0), (second, 0.5)], start=1):
    for k, p in params.items():
        p.grad = gradients[k].double() * scale
    muon.step()
    adamw.step()
    for k, p in params.items():
        out[f"muon.step{step}.{k}"] = p.detach().float().contiguous()
for k in names:
    out["grad2." + k] = second[k].contiguous()
metadata = {
    "settings": json.dumps({"lr": settings["lr"], "weight_decay": settings["weight_decay"], "muon_momentum": settings["momentum"],
                            "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "step2_grad_scale": 0.5}),
    "config": json.dumps(config),
    "made_by": f"make_gpt2_muon_parity.py, torch {torch.__version__}, float64 (Newton-Schulz in float64), stored as float32",
}
save_file(out, "gpt2-muon-parity.safetensors", metadata=metadata)
print("wrote gpt2-muon-parity.safetensors:", len(out), "tensors")
