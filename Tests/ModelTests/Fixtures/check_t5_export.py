# Loads a directory written by `pretrain checkpoint export` of a T5 checkpoint with transformers'
# T5ForConditionalGeneration and prints its logits and loss on a parity fixture's inputs next to the
# fixture's own, to show that the export is what transformers reads.
# Usage: python3 check_t5_export.py EXPORT_DIR [t5-relu-tied-parity.safetensors]
# Made with: pretrain checkpoint import Fixtures/t5-hf-NAME --out CKPT; pretrain checkpoint export CKPT --out EXPORT_DIR
# Result on 2026-12-03 (transformers 5.24, torch 2.13), the two fixture models through import + export:
# relu-tied logits relative error 3.6e-07, loss 4.005322 = fixture (lm_head tied, scaled);
# gated-untied 1.4e-06, loss 4.928350 = fixture (own lm_head, unscaled).
import sys, torch
from safetensors.torch import load_file
from transformers import T5ForConditionalGeneration
fx = load_file(sys.argv[2] if len(sys.argv) > 2 else __file__.rsplit('/', 1)[0] + '/t5-relu-tied-parity.safetensors')
model = T5ForConditionalGeneration.from_pretrained(sys.argv[1], attn_implementation='eager').eval()
with torch.no_grad():
    out = model(input_ids=fx['input_ids'].long(), attention_mask=fx['attention_mask'].long(), labels=fx['labels'].long())
err = (out.logits - fx['logits']).abs().max().item() / fx['logits'].abs().max().item()
tied = model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()
print(f'logits relative error {err:.2e}, loss {out.loss.item():.6f} vs fixture {fx["loss"].item():.6f}, lm_head tied {tied}, scaled {model.config.scale_decoder_outputs}')
