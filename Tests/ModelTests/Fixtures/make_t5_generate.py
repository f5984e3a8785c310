# Generates the generation fixtures for T5GenerationTests.swift, with Hugging Face transformers' own
# T5ForConditionalGeneration.generate and logits warpers:
# - t5-hf-generate/: a small random T5 (relu, untied, 2+2 layers, vocab 32) as save_pretrained writes it
#   (float32), which our Hugging Face import (`pretrain checkpoint import`) reads. Its EOS row of lm_head is
#   scaled up so that beams finish at EOS at different lengths (a plain random model never emits EOS).
# - t5-generate.json: {"cases": [{"source", "max_new_tokens", "num_beams", "length_penalty",
#   "early_stopping", "generated"}]}: generate(do_sample=False) on that model (eval, float32), generated
#   without the start token (EOS included when reached), for several sources and settings.
# - t5-sampling-warpers.json: {"cases": [{"logits", "temperature", "top_k", "top_p", "probabilities"}]}:
#   softmax of the logits after HF's TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper (the
#   order generate applies them), float64; the top-p cases stay clear of the cumulative boundary.
# Usage: python3 make_t5_generate.py (needs torch, transformers, safetensors); writes beside this file.
import json, os, torch
from transformers import T5Config, T5ForConditionalGeneration
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

here = os.path.dirname(os.path.abspath(__file__))
V = 32
torch.manual_seed(1)
cfg = dict(vocab_size=V, d_model=16, d_kv=4, num_heads=2, d_ff=16, num_layers=2, num_decoder_layers=2,
           relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout_rate=0.0,
           feed_forward_proj='relu', tie_word_embeddings=False, pad_token_id=0, eos_token_id=1,
           decoder_start_token_id=0, layer_norm_epsilon=1e-6)
model = T5ForConditionalGeneration(T5Config(**cfg, attn_implementation='eager'))
# transformers 5 ties lm_head to shared unless given its own parameter (see make_t5_parity.py).
model.lm_head.weight = torch.nn.Parameter(torch.randn(V, 16) * 0.6)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith('layer_norm.weight'):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif 'relative_attention_bias' in name or name == 'shared.weight':
            p.copy_(0.5 * torch.randn_like(p))
        elif name != 'lm_head.weight':
            p.copy_(0.3 * torch.randn_like(p))
    model.lm_head.weight[1] *= 2.0
model.eval()
model.save_pretrained(os.path.join(here, 't5-hf-generate'))

settings = [  # (num_beams, length_penalty, early_stopping, max_new_tokens)
    (1, 1.0, False, 10), (3, 1.0, False, 10), (4, 0.6, True, 10), (4, 2.0, False, 10), (4, 1.0, True, 10),
    (4, 1.0, 'never', 10), (3, 2.0, 'never', 10), (4, 0.6, False, 10), (3, 1.0, False, 4), (2, 1.0, False, 1)]
g = torch.Generator().manual_seed(1)
cases, distinct, eos = [], 0, 0
for i in range(6):
    length = int(torch.randint(3, 10, (1,), generator=g))
    source = torch.randint(2, V, (1, length), generator=g)
    source[0, -1] = 1
    outputs = set()
    for beams, penalty, early, new in settings:
        with torch.no_grad():
            out = model.generate(input_ids=source, max_new_tokens=new, num_beams=beams, length_penalty=penalty,
                                 early_stopping=early, do_sample=False)
        generated = out[0, 1:].tolist()
        outputs.add(tuple(generated))
        eos += generated[-1] == 1 and len(generated) > 1
        cases.append(dict(source=source[0].tolist(), max_new_tokens=new, num_beams=beams, length_penalty=penalty,
                          early_stopping=str(early).lower(), generated=generated))
    distinct += len(outputs)
with open(os.path.join(here, 't5-generate.json'), 'w') as f:
    json.dump(dict(cases=cases), f, separators=(',', ':'))
print(f'{len(cases)} generate cases, {distinct} distinct outputs over the sources, {eos} ending at EOS after other tokens')

torch.manual_seed(2)
warpers = []
for temperature, top_k, top_p in [(1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.8), (0.5, 10, 0.9), (2.0, 0, 0.3),
                                   (1.0, 3, 0.5), (0.9, 32, 0.95)]:
    for row in range(2):
        while True:  # draw logits whose top-p cut is not within 1e-3 of a token's cumulative probability
            logits = (torch.randn(1, V) * 2).float()
            scores = logits.clone()
            if temperature != 1.0:
                scores = TemperatureLogitsWarper(temperature)(None, scores)
            if top_k != 0:
                scores = TopKLogitsWarper(top_k)(None, scores)
            cumulative = torch.sort(scores, descending=False)[0].softmax(-1).cumsum(-1)
            if top_p == 1.0 or (cumulative - (1 - top_p)).abs().min() > 1e-3:
                break
        if top_p < 1.0:
            scores = TopPLogitsWarper(top_p)(None, scores)
        probabilities = scores.double().softmax(-1)[0]
        warpers.append(dict(logits=logits[0].tolist(), temperature=temperature, top_k=top_k, top_p=top_p,
                            probabilities=probabilities.tolist()))
with open(os.path.join(here, 't5-sampling-warpers.json'), 'w') as f:
    json.dump(dict(cases=warpers), f, separators=(',', ':'))
print(f'{len(warpers)} warper cases')
