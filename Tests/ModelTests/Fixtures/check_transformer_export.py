# Loads a directory written by `pretrain checkpoint export` of a Transformer checkpoint (model.arch:
# transformer) into torch.nn.Transformer with load_state_dict(strict=True) and prints its logits on a
# parity fixture's inputs next to the fixture's own, to show that the export is what PyTorch reads.
# Usage: python3 check_transformer_export.py EXPORT_DIR [transformer-parity.safetensors]
# The module is transformer_module.py's (the parity fixture's), built from config.json.
# EXPORT_DIR must hold the fixture's weights for the comparison:
# TransformerModelTests.testExportIsATorchStateDict exports the fixture model (made with
# TRANSFORMER_EXPORT_DIR=DIR swift test --filter TransformerModelTests, which keeps it in DIR).
# Result on 2026-12-03 (torch 2.13.0+cpu): strict load ok, logits relative error 2.91e-07 over 11 target positions.
import json, sys, torch, torch.nn as nn
from safetensors.torch import load_file
from transformer_module import Model

cfg = json.load(open(sys.argv[1] + '/config.json'))
assert cfg['architecture'] == 'torch.nn.Transformer', cfg
V, C = cfg['vocab_size'], cfg['d_model']

model = Model(V, C, dtype=torch.float32, nhead=cfg['nhead'], num_encoder_layers=cfg['num_encoder_layers'],
              num_decoder_layers=cfg['num_decoder_layers'], dim_feedforward=cfg['dim_feedforward'], dropout=cfg['dropout'],
              layer_norm_eps=cfg['layer_norm_eps'])
assert cfg['activation'] == 'relu' and cfg['batch_first'] and not cfg['norm_first'], cfg
model.load_state_dict(load_file(sys.argv[1] + '/model.safetensors'), strict=True)
model.train()   # dropout from config.json may be > 0: compare without it
for m in model.modules():
    if isinstance(m, nn.Dropout): m.p = 0.0
fx = load_file(sys.argv[2] if len(sys.argv) > 2 else __file__.rsplit('/', 1)[0] + '/transformer-parity.safetensors')
with torch.no_grad():
    logits = model(fx['source'].long(), fx['source_mask'] == 0, fx['decoder_input'].long(), fx['target_mask'] == 0)
keep = fx['target_mask'].bool()
err = (logits - fx['logits'])[keep].abs().max().item() / fx['logits'][keep].abs().max().item()
print(f'strict load ok, logits relative error {err:.2e} over {int(keep.sum())} target positions')
