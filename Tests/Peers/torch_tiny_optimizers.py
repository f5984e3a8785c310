#!/usr/bin/env python3
"""The tiny default (configs/tiny.yaml's model and data) trained in PyTorch with AdamW or with
torch.optim.Muon, one process and one thread: the independent check of what `optimizer.kind: muon`
does for the default (BENCHMARKS.md, "Tiny").

Model: ../../../shared/bench/torch_gpt.py's GPT (d 128, 4 layers, 4 heads, vocab 2048, T 128);
batches of 32 random non-overlapping windows of data/fortunes/train_000000.bin per step, validation
on the first 8 x 32 windows of val_000000.bin (what `pretrain train` evaluates); cosine schedule with
warm-up 40 and floor 0.1; grad clip 1.0. Muon (match_rms_adamw) for the blocks' matrices, AdamW for
the rest. Newton-Schulz runs in fp32 (--ns32 1, the default) instead of PyTorch's bf16.

Usage (from the repository root, after `make pretrain` prepared the data):
  python3 Tests/Peers/torch_tiny_optimizers.py --opt adamw
  python3 Tests/Peers/torch_tiny_optimizers.py --opt muon --adjust match_rms_adamw --mlr 5e-3 --mwd 0.1
"""
import os, sys, math, time, argparse, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/bench')); from torch_gpt import GPT
ap = argparse.ArgumentParser(); ap.add_argument('--opt', default='adamw'); ap.add_argument('--steps', type=int, default=1150)
ap.add_argument('--lr', type=float, default=5e-3); ap.add_argument('--mlr', type=float, default=0.02); ap.add_argument('--mwd', type=float, default=0.01)
ap.add_argument('--adjust', default='original'); ap.add_argument('--batch', type=int, default=32); ap.add_argument('--d', type=int, default=128)
ap.add_argument('--minlr', type=float, default=0.1); ap.add_argument('--warmup', type=int, default=40); ap.add_argument('--seed', type=int, default=1337)
ap.add_argument('--ns32', type=int, default=1)
a = ap.parse_args()
import torch.optim._muon as _mu
if a.ns32:
    def ns32(grad, coef, steps, eps):
        A,B,C=coef; X=grad.float()
        if grad.size(0)>grad.size(1): X=X.T
        X=X/X.norm().clamp(min=eps)
        for _ in range(steps):
            G=X@X.T; U=torch.addmm(G,G,G,beta=B,alpha=C); X=torch.addmm(X,U,X,beta=A)
        if grad.size(0)>grad.size(1): X=X.T
        return X
    _mu._zeropower_via_newtonschulz=ns32
torch.set_num_threads(1); torch.manual_seed(a.seed)
T=128; tr = np.fromfile('data/fortunes/train_000000.bin', dtype=np.uint16, offset=1024).astype(np.int64)
va = np.fromfile('data/fortunes/val_000000.bin', dtype=np.uint16, offset=1024).astype(np.int64)
ntr = (len(tr)-1)//T; nva=256
m = GPT(vocab=2048, n_layer=4, n_head=4, d_model=a.d, block_size=128)
hidden = [p for n,p in m.named_parameters() if p.ndim==2 and n.startswith('h.')]
other = [p for n,p in m.named_parameters() if not (p.ndim==2 and n.startswith('h.'))]
decay = [p for n,p in m.named_parameters() if p.ndim==2]; nodecay=[p for n,p in m.named_parameters() if p.ndim<2]
if a.opt=='adamw':
    opts=[torch.optim.AdamW([{'params':decay,'weight_decay':0.1},{'params':nodecay,'weight_decay':0}], lr=a.lr, betas=(0.9,0.95), eps=1e-8)]
else:
    od=[p for p in other if p.ndim==2]; on=[p for p in other if p.ndim<2]
    opts=[torch.optim.Muon(hidden, lr=a.mlr, weight_decay=a.mwd, momentum=0.95, adjust_lr_fn=a.adjust),
          torch.optim.AdamW([{'params':od,'weight_decay':0.1},{'params':on,'weight_decay':0}], lr=a.lr, betas=(0.9,0.95), eps=1e-8)]
base=[[g['lr'] for g in o.param_groups] for o in opts]
def lrf(s):
    if s < a.warmup: return (s+1)/a.warmup
    p=(s-a.warmup)/max(1,a.steps-a.warmup); return a.minlr+(1-a.minlr)*0.5*(1+math.cos(math.pi*p))
def evalv():
    m.eval(); tot=0
    with torch.no_grad():
        for i in range(0,nva,32):
            x=torch.stack([torch.from_numpy(va[j*T:j*T+T]) for j in range(i,i+32)]); y=torch.stack([torch.from_numpy(va[j*T+1:j*T+T+1]) for j in range(i,i+32)])
            tot+=m(x,y).item()
    m.train(); return tot/(nva//32)
rng=np.random.default_rng(a.seed); perm=rng.permutation(ntr); pi=0; t0=time.time()
for s in range(a.steps):
    f=lrf(s)
    for o,b in zip(opts,base):
        for g,l in zip(o.param_groups,b): g['lr']=l*f
    if pi+a.batch>ntr: perm=rng.permutation(ntr); pi=0
    idx=perm[pi:pi+a.batch]; pi+=a.batch
    x=torch.stack([torch.from_numpy(tr[j*T:j*T+T]) for j in idx]); y=torch.stack([torch.from_numpy(tr[j*T+1:j*T+T+1]) for j in idx])
    loss=m(x,y); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(),1.0)
    for o in opts: o.step(); o.zero_grad(set_to_none=True)
    if (s+1)%250==0 or s+1==a.steps: print(f'step {s+1} loss {loss.item():.4f} val {evalv():.4f} t {time.time()-t0:.0f}s', flush=True)
