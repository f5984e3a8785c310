# Loads a directory written by BERT.exportHuggingFace with transformers and prints its MLM logits on the
# parity fixture's inputs next to the fixture's own, to show that the export is what transformers reads.
# Usage: python3 check_bert_export.py EXPORT_DIR [bert-mlm-parity.safetensors]
# Result on 2026-11-22 (transformers 5.23, torch 2.15), the fixture model exported by BERT.exportHuggingFace:
# all 42 tensors loaded, logits relative error 4.5e-07, loss 5.791892 = fixture; as BertForPreTraining
# (the NSP fixture) MLM logits 3.9e-07 and NSP logits 1.5e-06.
import sys, torch
from safetensors.torch import load_file
from transformers import BertForMaskedLM
fx = load_file(sys.argv[2] if len(sys.argv) > 2 else __file__.rsplit('/', 1)[0] + '/bert-mlm-parity.safetensors')
model = BertForMaskedLM.from_pretrained(sys.argv[1], attn_implementation='eager').eval()
with torch.no_grad():
    out = model(input_ids=fx['input_ids'].long(), token_type_ids=fx['token_type_ids'].long(),
                attention_mask=fx['attention_mask'].long(), labels=fx['labels'].long())
err = (out.logits - fx['logits']).abs().max().item() / fx['logits'].abs().max().item()
print(f'logits relative error {err:.2e}, loss {out.loss.item():.6f} vs fixture {fx["loss"].item():.6f}')
