# Loads a fine-tuned GPT classifier exported by `pretrain checkpoint export` with transformers'
# GPT2ForSequenceClassification and its tokenizer.json with tokenizers, and prints each text's label
# probabilities, to compare with `pretrain predict --checkpoint CKPT --task classify TEXT` (same numbers
# up to float rounding shows that the export is what transformers reads, head and padding included).
# Usage: python3 check_gpt2_classify_export.py EXPORT_DIR TEXT [TEXT ...]
# The texts are also run as one right-padded batch (pad_token_id from config.json): the same probabilities.
# Result on 2026-11-22 (transformers 5.23, torch 2.15): a 2-layer GPT pretrained 40 steps on fortunes and
# fine-tuned 60 steps on the 4-way fortunes task (mpirun -n 2), exported: all three texts give pretrain
# predict's six printed decimals exactly; the padded batch differs by at most 2.8e-08.
import sys, torch
from tokenizers import Tokenizer
from transformers import GPT2ForSequenceClassification
model = GPT2ForSequenceClassification.from_pretrained(sys.argv[1], attn_implementation='eager').eval()
tok = Tokenizer.from_file(sys.argv[1] + '/tokenizer.json')
names = [model.config.id2label[k] for k in range(model.config.num_labels)]
ids = [tok.encode(t, add_special_tokens=False).ids for t in sys.argv[2:]]
T = max(len(x) for x in ids)
batch = torch.tensor([x + [model.config.pad_token_id] * (T - len(x)) for x in ids])
with torch.no_grad():
    single = [torch.softmax(model(input_ids=torch.tensor([x])).logits[0].double(), -1) for x in ids]
    padded = torch.softmax(model(input_ids=batch).logits.double(), -1)
for text, p, q in zip(sys.argv[2:], single, padded):
    best = int(p.argmax())
    print(f'{text!r}: label {names[best]} {p[best]:.6f}; ' + ', '.join(f'{n} {v:.6f}' for n, v in zip(names, p.tolist()))
          + f'; padded batch max diff {float((p - q).abs().max()):.1e}')
