# Generates gpt2-autocast-parity.safetensors: Hugging Face GPT2LMHeadModel run under PyTorch's CPU
# autocast, torch.autocast("cpu", dtype=torch.bfloat16), on the weights and batch of gpt2-parity.safetensors
# (beside this file), for the bf16 parity test in MixedPrecisionParityTests.swift.
# Usage: python3 make_gpt2_autocast_parity.py (needs torch, transformers, safetensors); writes beside this file.
#
# Tensors: logits F32 (B, T, V) (autocast returns them in bf16; widened exactly), loss F32 (1) (mean
# cross-entropy against `targets`, computed in fp32 as autocast does), and grad.<name> F32 for a subset of
# parameters (the fixture stays small): the tied embedding, the first and last layers' largest matrices,
# a bias and two LayerNorm gains. Metadata `errors`: each output's max-norm relative error against the
# same model in float64 (how far autocast itself is from exact), `made_by`: the versions.
import json, os, torch, torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from safetensors import safe_open
from transformers import GPT2Config, GPT2LMHeadModel

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, 'gpt2-parity.safetensors')
T_ = load_file(src)
with safe_open(src, 'pt') as f:
    cfg = json.loads(f.metadata()['config'])
ids, targets = T_['input_ids'].long(), T_['targets'].long()
V = cfg['vocab_size']
hf = GPT2Config(vocab_size=V, n_positions=cfg['n_positions'], n_embd=cfg['n_embd'], n_layer=cfg['n_layer'],
                n_head=cfg['n_head'], activation_function='gelu_new', layer_norm_epsilon=cfg['layer_norm_epsilon'],
                resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, attn_implementation='eager')
KEEP = ['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.1.mlp.c_proj.weight',
        'transformer.h.1.mlp.c_fc.bias', 'transformer.h.0.ln_1.weight', 'transformer.ln_f.weight']


def run(dtype, autocast):
    model = GPT2LMHeadModel(hf).to(dtype)
    state = {k: v.to(dtype) for k, v in T_.items() if k.startswith('transformer.')}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(m in ('lm_head.weight',) or m.endswith('attn.bias') or m.endswith('masked_bias') for m in missing), missing
    model.train()
    model.zero_grad()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        logits = model(input_ids=ids).logits
        loss = F.cross_entropy(logits.float().reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    grads = dict(model.named_parameters())
    return logits.detach(), loss.detach(), {k: grads[k].grad.detach() for k in KEEP}, logits.dtype


logits, loss, grads, dtype = run(torch.float32, True)
assert dtype == torch.bfloat16, dtype  # autocast really ran the head in bf16
ref_logits, ref_loss, ref_grads, _ = run(torch.float64, False)


def rel(a, b):
    return float((a.double() - b).abs().max() / b.abs().max())


errors = {'logits': rel(logits, ref_logits), 'loss': rel(loss.reshape(1), ref_loss.reshape(1))}
errors.update({'grad.' + k: rel(grads[k], ref_grads[k]) for k in KEEP})
res = {'logits': logits.float(), 'loss': loss.float().reshape(1)}
res.update({'grad.' + k: grads[k].float() for k in KEEP})
save_file({k: v.contiguous() for k, v in res.items()}, os.path.join(here, 'gpt2-autocast-parity.safetensors'),
          metadata={'errors': json.dumps(errors),
                    'made_by': f'transformers {transformers.__version__}, torch {torch.__version__}, CPU autocast bf16'})
print(json.dumps(errors, indent=1))
