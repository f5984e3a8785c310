# Generates t5-generate-returns.json for T5GenerationTests.swift with Hugging Face transformers' own
# T5ForConditionalGeneration.generate on the model of t5-hf-generate/ (make_t5_generate.py): beam search
# with num_return_sequences > 1. {"cases": [{"source", "max_new_tokens", "num_beams", "length_penalty",
# "early_stopping", "num_return_sequences", "sequences", "scores"}]}: the returned sequences best first,
# without the start token (EOS included when reached; HF pads shorter ones, which are cut at their EOS
# here), and their sequences_scores (sum of log-probabilities / length ** length_penalty).
# Usage: python3 make_t5_generate_returns.py (needs torch, transformers, safetensors); writes beside this file.
import json, os, torch
from transformers import T5ForConditionalGeneration

here = os.path.dirname(os.path.abspath(__file__))
model = T5ForConditionalGeneration.from_pretrained(os.path.join(here, 't5-hf-generate'), attn_implementation='eager')
model.eval()
V, eos, pad = model.config.vocab_size, model.config.eos_token_id, model.config.pad_token_id

settings = [  # (num_beams, num_return_sequences, length_penalty, early_stopping, max_new_tokens)
    (3, 3, 1.0, False, 10), (4, 2, 0.6, True, 10), (4, 4, 2.0, False, 10), (4, 3, 1.0, 'never', 10), (2, 2, 1.0, False, 4)]
g = torch.Generator().manual_seed(3)
cases = []
for i in range(4):
    length = int(torch.randint(3, 10, (1,), generator=g))
    source = torch.randint(2, V, (1, length), generator=g)
    source[0, -1] = eos
    for beams, returns, penalty, early, new in settings:
        with torch.no_grad():
            out = model.generate(input_ids=source, max_new_tokens=new, num_beams=beams, num_return_sequences=returns,
                                 length_penalty=penalty, early_stopping=early, do_sample=False,
                                 output_scores=True, return_dict_in_generate=True)
        sequences = []
        for row in out.sequences[:, 1:].tolist():
            if eos in row:
                row = row[:row.index(eos) + 1]
            sequences.append(row)
        cases.append(dict(source=source[0].tolist(), max_new_tokens=new, num_beams=beams, num_return_sequences=returns,
                          length_penalty=penalty, early_stopping=str(early).lower(), sequences=sequences,
                          scores=out.sequences_scores.tolist()))
with open(os.path.join(here, 't5-generate-returns.json'), 'w') as f:
    json.dump(dict(cases=cases), f, separators=(',', ':'))
distinct = sum(len(set(map(tuple, c['sequences']))) == len(c['sequences']) for c in cases)
print(f'{len(cases)} cases, {distinct} with distinct sequences')
