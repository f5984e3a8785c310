# Generates bert-mlm-parity.safetensors, bert-pretraining-parity.safetensors and
# bert-classify-parity.safetensors: references computed by Hugging Face transformers' own BertForMaskedLM,
# BertForPreTraining and BertForSequenceClassification (eager attention, float64, stored as float32), for
# the BERT parity tests in BERTTests.swift.
# Usage: python3 make_bert_parity.py (needs torch, transformers, safetensors); writes beside this file.
#
# Tensors: input_ids, token_type_ids, attention_mask (1 = token, 0 = padding), labels (-100 = no MLM
# target) I32 (B, T); every parameter under its HF name (the decoder weight is tied to
# bert.embeddings.word_embeddings.weight and its bias to cls.predictions.bias, so each appears once);
# logits F32 (B, T, V); loss F32 (1); grad.<name> for every parameter. The pretraining file adds
# next_sentence_label I32 (B) and seq_relationship_logits F32 (B, 2); its loss is MLM + NSP. The
# classification file (3 labels) has class_labels I32 (B), logits F32 (B, 3) and the classification loss;
# its `labels` are unused there (a classifier has no MLM head).
# Metadata `config`: the BertConfig fields used, plus batch and seq. All parameters (biases and
# LayerNorm affine terms included) are random; no dropout; GELU exact (erf); LayerNorm eps 1e-12.
import json, os, torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
B, T = 2, 12
cfg = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
           max_position_embeddings=16, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act='gelu',
           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)

# Sequence 0: [CLS]=1 A [SEP]=2 B [SEP] full length; sequence 1: shorter, padded (id 0) after 9 tokens.
ids = torch.randint(5, cfg['vocab_size'], (B, T))
ids[:, 0] = 1
ids[0, 5] = 2; ids[0, T - 1] = 2
ids[1, 4] = 2; ids[1, 8] = 2; ids[1, 9:] = 0
types = torch.zeros(B, T, dtype=torch.long)
types[0, 6:] = 1; types[1, 5:9] = 1
mask = torch.ones(B, T, dtype=torch.long); mask[1, 9:] = 0
labels = torch.full((B, T), -100, dtype=torch.long)
for b, t in [(0, 2), (0, 3), (0, 8), (1, 1), (1, 6), (1, 7)]:
    labels[b, t] = int(torch.randint(0, cfg['vocab_size'], (1,)))
nsp = torch.tensor([0, 1])

def build(cls, **extra):
    model = cls(BertConfig(**cfg, **extra, attn_implementation='eager')).double()
    model.train()  # dropout probabilities are 0, so train mode is deterministic
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('LayerNorm.weight'):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif p.dim() >= 2:
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))
    return model

def tensors(model, out, extra):
    model.zero_grad()
    names = dict(model.named_parameters())
    res = {'input_ids': ids.int(), 'token_type_ids': types.int(), 'attention_mask': mask.int(), 'labels': labels.int()}
    for k, v in extra.items(): res[k] = v.int()
    res['logits'] = out.logits.detach().float() if hasattr(out, 'logits') else out.prediction_logits.detach().float()
    res['loss'] = out.loss.detach().float().reshape(1)
    out.loss.backward()
    for n, p in names.items():
        res[n] = p.detach().float().contiguous()
        res['grad.' + n] = p.grad.detach().float().contiguous()
    return {k: v.contiguous() for k, v in res.items()}

meta = {'config': json.dumps({**cfg, 'batch': B, 'seq': T})}
m = build(BertForMaskedLM)
out = m(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels)
save_file(tensors(m, out, {}), os.path.join(here, 'bert-mlm-parity.safetensors'), metadata=meta)

m = build(BertForPreTraining)
out = m(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, next_sentence_label=nsp)
res = tensors(m, out, {'next_sentence_label': nsp})
res['seq_relationship_logits'] = out.seq_relationship_logits.detach().float().contiguous()
save_file(res, os.path.join(here, 'bert-pretraining-parity.safetensors'), metadata=meta)
m = build(BertForSequenceClassification, num_labels=3)
classes = torch.tensor([2, 0])
out = m(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=classes)
save_file(tensors(m, out, {'class_labels': classes}), os.path.join(here, 'bert-classify-parity.safetensors'), metadata=meta)
print('names:', [n for n in res if not n.startswith('grad.')])
