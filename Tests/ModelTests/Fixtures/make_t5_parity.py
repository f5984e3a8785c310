# Generates t5-relu-tied-parity.safetensors and t5-gated-untied-parity.safetensors: references computed
# by Hugging Face transformers' own T5ForConditionalGeneration (eager attention, float64, stored as
# float32), for the T5 parity tests in T5Tests.swift. Also t5-buckets.safetensors: HF's
# T5Attention._relative_position_bucket for relative positions -300...300, bidirectional and causal, for
# the default (32 buckets, max distance 128) and the fixtures' (8, 16).
# Usage: python3 make_t5_parity.py (needs torch, transformers, safetensors); writes beside this file.
#
# Tensors: input_ids, attention_mask (1 = token, 0 = padding) I32 (B, S); labels I32 (B, T) (-100 = no
# target); decoder_input_ids I32 (B, T) (labels shifted right by HF, decoder_start_token_id = pad = 0);
# every parameter under its HF name (shared.weight once: encoder/decoder.embed_tokens are tied to it, and
# lm_head.weight too when tie_word_embeddings); logits F32 (B, T, V); loss F32 (1); grad.<name> for every
# parameter. Metadata `config`: the T5Config fields used, plus batch, source and target lengths.
# t5-relu-tied-generate.safetensors: HF's greedy generate (12 new tokens at most) on the two sources.
# t5-hf-relu-tied/ and t5-hf-gated-untied/: the two models as save_pretrained writes them (float32).
# Fixture 1: ReLU (T5 v1.0), tied embeddings (decoder output scaled by d_model^-0.5), equal depths.
# Fixture 2: gated-gelu (T5 v1.1, gelu_new), its own lm_head and no output scaling, 2 encoder and 3 decoder layers.
# Both: d_kv·heads ≠ d_model, padding in the encoder input and ignored labels at the end of one target.
import json, os, torch
from safetensors.torch import save_file
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5Attention

here = os.path.dirname(os.path.abspath(__file__))
B, S, T = 2, 12, 9

def build(**cfg):
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(**cfg, attn_implementation='eager')).double()
    if not cfg['tie_word_embeddings']:
        # transformers 5 always ties lm_head to shared and reads tie_word_embeddings only as "scale the
        # decoder output"; T5 v1.1 checkpoints have their own lm_head, so give it one (as transformers 4 did).
        model.lm_head.weight = torch.nn.Parameter(model.shared.weight.detach().clone())
    model.train()  # dropout_rate is 0, so train mode is deterministic
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('layer_norm.weight'):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif 'relative_attention_bias' in name or name in ('shared.weight', 'lm_head.weight'):
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_(0.25 * torch.randn_like(p))
    return model

def write(name, cfg):
    model = build(**cfg)
    V = cfg['vocab_size']
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(2, V, (B, S), generator=g)
    mask = torch.ones(B, S, dtype=torch.long)
    ids[1, 8:] = 0; mask[1, 8:] = 0
    labels = torch.randint(2, V, (B, T), generator=g)
    labels[1, 6:] = -100
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    dec = model._shift_right(labels)
    res = {'input_ids': ids.int(), 'attention_mask': mask.int(), 'labels': labels.int(), 'decoder_input_ids': dec.int(),
           'logits': out.logits.detach().float(), 'loss': out.loss.detach().float().reshape(1)}
    model.zero_grad()
    out.loss.backward()
    for n, p in model.named_parameters():  # tied tensors appear once (as shared.weight)
        res[n] = p.detach().float()
        res['grad.' + n] = p.grad.detach().float()
    meta = {'config': json.dumps({**cfg, 'batch': B, 'source': S, 'target': T})}
    save_file({k: v.contiguous() for k, v in res.items()}, os.path.join(here, name), metadata=meta)
    if cfg['num_layers'] == cfg['num_decoder_layers']:  # generate's cache wants equal depths (transformers 5.24)
        gen = {}
        with torch.no_grad():
            model.eval()
            for b, length in [(0, S), (1, 8)]:
                source = ids[b:b + 1, :length]
                out = model.generate(input_ids=source, max_new_tokens=12, do_sample=False, num_beams=1)
                gen[f'source.{b}'] = source[0].int()
                gen[f'generated.{b}'] = out[0, 1:].int()   # without the start token
        save_file({k: v.contiguous() for k, v in gen.items()}, os.path.join(here, name.replace('parity', 'generate')))
    # The same model as Hugging Face saves it (float32), for the import tests.
    model.float().save_pretrained(os.path.join(here, 't5-hf-' + name[len('t5-'):-len('-parity.safetensors')]))
    print(name, sorted(n for n in res if not n.startswith('grad.')))

base = dict(vocab_size=40, d_model=16, d_kv=5, num_heads=3, d_ff=24, relative_attention_num_buckets=8,
            relative_attention_max_distance=16, dropout_rate=0.0, layer_norm_epsilon=1e-6,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
write('t5-relu-tied-parity.safetensors', dict(base, num_layers=2, num_decoder_layers=2, feed_forward_proj='relu',
                                                tie_word_embeddings=True))
write('t5-gated-untied-parity.safetensors', dict(base, num_layers=2, num_decoder_layers=3, feed_forward_proj='gated-gelu',
                                                   tie_word_embeddings=False))

rel = torch.arange(-300, 301)
buckets = {'relative_position': rel.int()}
for nb, md in [(32, 128), (8, 16)]:
    for bi in [True, False]:
        b = T5Attention._relative_position_bucket(rel, bidirectional=bi, num_buckets=nb, max_distance=md)
        buckets[f'{"bi" if bi else "causal"}.{nb}.{md}'] = b.int()
save_file(buckets, os.path.join(here, 't5-buckets.safetensors'))
