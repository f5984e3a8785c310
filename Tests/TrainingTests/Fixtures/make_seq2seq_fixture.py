# Generates seq2seq-t5/ (a small random T5ForConditionalGeneration as save_pretrained writes it, float32)
# and seq2seq-batch.json: four (source, target) pairs of token ids, batched the way Hugging Face
# fine-tunes T5 on pairs — the tokenizer's truncation (max_length with EOS kept last: the first
# max_length − 1 ids, then EOS), DataCollatorForSeq2Seq's padding to the longest row (input_ids with
# pad, attention_mask 0 there, labels with -100), decoder_input_ids = model._shift_right(labels) — and
# the model's loss (mean cross-entropy over the labels that are not -100) and gradients, computed in
# float64 from the float32 weights. For Seq2SeqTunerTests.swift.
# Usage: python3 make_seq2seq_fixture.py (needs torch, transformers); writes beside this file.
import json, os, torch
from transformers import T5Config, T5ForConditionalGeneration

here = os.path.dirname(os.path.abspath(__file__))
V, PAD, EOS = 48, 0, 1
SOURCE_LEN, TARGET_LEN = 8, 6   # with EOS, as --seq-len and --target-len

torch.manual_seed(0)
config = T5Config(vocab_size=V, d_model=16, d_kv=4, d_ff=24, num_layers=2, num_decoder_layers=2, num_heads=2,
                  relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout_rate=0.0,
                  feed_forward_proj='relu', tie_word_embeddings=True, pad_token_id=PAD, eos_token_id=EOS,
                  decoder_start_token_id=PAD, attn_implementation='eager')
model = T5ForConditionalGeneration(config)
with torch.no_grad():
    for name, p in model.named_parameters():
        scale = 0.5 if ('relative_attention_bias' in name or name == 'shared.weight') else 0.25
        p.copy_(1 + 0.1 * torch.randn_like(p) if name.endswith('layer_norm.weight') else scale * torch.randn_like(p))
model.save_pretrained(os.path.join(here, 'seq2seq-t5'))
model = model.double()
model.train()  # dropout_rate 0: deterministic

g = torch.Generator().manual_seed(3)
def ids(n): return torch.randint(2, V, (n,), generator=g).tolist()
pairs = [(ids(5), ids(3)), (ids(2), ids(9)), (ids(11), ids(1)), (ids(0), ids(4))]  # two of them truncated
def fit(x, limit): return x[:limit - 1] + [EOS]

def batch(rows):
    src = [fit(s, SOURCE_LEN) for s, _ in rows]
    tgt = [fit(t, TARGET_LEN) for _, t in rows]
    S, T = max(map(len, src)), max(map(len, tgt))
    input_ids = torch.tensor([s + [PAD] * (S - len(s)) for s in src])
    mask = torch.tensor([[1] * len(s) + [0] * (S - len(s)) for s in src])
    labels = torch.tensor([t + [-100] * (T - len(t)) for t in tgt])
    return input_ids, mask, labels

input_ids, mask, labels = batch(pairs)
out = model(input_ids=input_ids, attention_mask=mask, labels=labels)
model.zero_grad()
out.loss.backward()
grads = {n: p.grad.float().flatten().tolist() for n, p in model.named_parameters()
         if n in ('shared.weight', 'encoder.block.0.layer.0.SelfAttention.q.weight', 'decoder.block.1.layer.1.EncDecAttention.o.weight')}
halves = []
for rows in (pairs[:2], pairs[2:]):
    i, m, l = batch(rows)
    halves.append({'loss': model(input_ids=i, attention_mask=m, labels=l).loss.item(), 'targets': int((l != -100).sum())})
with open(os.path.join(here, 'seq2seq-batch.json'), 'w') as f:
    json.dump({'source_len': SOURCE_LEN, 'target_len': TARGET_LEN, 'pad': PAD, 'eos': EOS,
               'sources': [s for s, _ in pairs], 'targets': [t for _, t in pairs],
               'input_ids': input_ids.tolist(), 'attention_mask': mask.tolist(), 'labels': labels.tolist(),
               'decoder_input_ids': model._shift_right(labels).tolist(), 'loss': out.loss.item(),
               'halves': halves, 'grads': grads}, f)
    f.write('\n')
