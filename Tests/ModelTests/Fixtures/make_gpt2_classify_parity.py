# Generates gpt2-classify-parity.safetensors: the reference computed by Hugging Face transformers' own
# GPT2ForSequenceClassification (eager attention, float64, stored as float32), for the classifier parity
# test in GPTClassifierTests.swift.
# Usage: python3 make_gpt2_classify_parity.py (needs torch, transformers, safetensors); writes beside this file.
#
# Tensors: input_ids I32 (B, T) right-padded with pad_token_id 0 (never used inside a text), lengths I32 (B)
# (the classified token is at length - 1: HF's rightmost non-pad token), class_labels I32 (B); every
# parameter under its HF name (transformer.* and score.weight (K, C)); logits F32 (B, K) (the pooled
# logits), loss F32 (1) (mean cross-entropy), grad.<name> for every parameter.
# Metadata `config`: the GPT2Config fields used, plus batch and seq. All parameters (biases and LayerNorm
# affine terms included) are random; no dropout; gelu_new.
import json, os, torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2ForSequenceClassification

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
B, T, K = 3, 10, 3
cfg = dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4, layer_norm_epsilon=1e-5,
           activation_function='gelu_new', resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
           num_labels=K, pad_token_id=0)

lengths = torch.tensor([T, 7, 4])
ids = torch.randint(1, cfg['vocab_size'], (B, T))
for b in range(B):
    ids[b, lengths[b]:] = 0
classes = torch.tensor([2, 0, 1])

model = GPT2ForSequenceClassification(GPT2Config(**cfg, attn_implementation='eager')).double()
model.train()  # dropout probabilities are 0, so train mode is deterministic
with torch.no_grad():
    for name, p in model.named_parameters():
        if '.ln_' in name and name.endswith('.weight'):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif p.dim() >= 2:
            p.copy_(0.2 * torch.randn_like(p))
        else:
            p.copy_(0.1 * torch.randn_like(p))
model.zero_grad()
out = model(input_ids=ids, labels=classes)
out.loss.backward()
res = {'input_ids': ids.int(), 'lengths': lengths.int(), 'class_labels': classes.int(),
       'logits': out.logits.detach().float(), 'loss': out.loss.detach().float().reshape(1)}
for n, p in model.named_parameters():
    res[n] = p.detach().float()
    res['grad.' + n] = p.grad.detach().float()
res = {k: v.contiguous() for k, v in res.items()}
save_file(res, os.path.join(here, 'gpt2-classify-parity.safetensors'),
          metadata={'config': json.dumps({**cfg, 'batch': B, 'seq': T})})
print('loss', float(out.loss.detach()), 'names:', [n for n, _ in model.named_parameters()][:3], '...', [n for n, _ in model.named_parameters()][-3:])
