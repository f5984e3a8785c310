#!/usr/bin/env bash
# Writes the legacy checkpoint fixtures: a small GPT and a small BERT checkpoint written by the
# `pretrain` binary of main before the model-layer refactor (commit 0096c0f, issue 17), and what that
# binary computed from them. LegacyCheckpointTests resumes and evaluates them with today's binary and
# asserts the same numbers, so checkpoints written before the refactor keep loading.
#
#   Tests/CLITests/Fixtures/legacy/make_legacy.sh /path/to/old/pretrain
#
# Output (beside this script): data/ (tokenizer.json and token shards from `computers`, one of
# Debian's fortune files), gpt/ and bert/ (run.yaml and the step-4 checkpoint), and expected/
# (metrics of steps 5-8 resumed from step 4, `pretrain eval` of the step-4 GPT checkpoint and
# `pretrain predict --task fill-mask` of the step-4 BERT checkpoint).
set -euo pipefail
OLD=${1:?usage: make_legacy.sh OLD_PRETRAIN_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$HERE"
rm -rf data gpt bert expected
mkdir -p data gpt bert expected
cp /usr/share/games/fortunes/computers "$WORK/computers.txt"
"$OLD" data prepare --input "$WORK/computers.txt" --document-separator % --vocab-size 300 \
    --out "$WORK/data" --threads 1 --quiet
cp "$WORK"/data/tokenizer.json "$WORK"/data/train_*.bin "$WORK"/data/val_*.bin data/

for arch in gpt bert; do
  cat > "$arch/run.yaml" <<YAML
num_processes: 1
threads_per_process: 1
model:
  arch: $arch
  vocab_size: 300
  max_seq_len: 32
  n_layer: 2
  n_head: 2
  d_model: 32
  layer_norm_eps: 1.0e-5
data:
  train: data/train_*.bin
  val: data/val_*.bin
  tokenizer: data/tokenizer.json
optimizer:
  lr: 3.0e-3
schedule:
  warmup_steps: 2
training:
  steps: 8
  micro_batch: 4
  seq_len: 32
  global_batch: 4
  seed: 7
  eval_interval: 0
checkpoint:
  every: 4
  keep_last: 5
logging:
  run_dir: runs/$arch
  interval: 1
YAML
  # Paths in run.yaml are relative to this folder: run from here, in a scratch copy.
  rm -rf "$WORK/run" && mkdir -p "$WORK/run" && cp -r data "$WORK/run/" && cp "$arch/run.yaml" "$WORK/run/"
  (cd "$WORK/run" && "$OLD" train --config run.yaml --quiet)
  cp -r "$WORK/run/runs/$arch/checkpoints/step-00000004" "$arch/"
  cp "$WORK/run/runs/$arch/metrics/rank-00000.jsonl" "expected/$arch-uninterrupted.jsonl"
  # Resumed from step 4 by the old binary: the numbers today's binary must repeat.
  rm -rf "$WORK/run/runs/$arch/checkpoints/step-00000008" "$WORK/run/runs/$arch/checkpoints/latest"
  (cd "$WORK/run" && rm -rf runs/$arch/metrics && "$OLD" train --config run.yaml --quiet \
      --resume runs/$arch/checkpoints/step-00000004)
  cp "$WORK/run/runs/$arch/metrics/rank-00000.jsonl" "expected/$arch-resumed.jsonl"
done
(cd "$WORK/run" && cp -r "$HERE/gpt/step-00000004" gpt4 && "$OLD" eval --checkpoint gpt4 --data 'data/val_*.bin' --threads 1) > expected/gpt-eval.txt
(cd "$WORK/run" && "$OLD" predict --task fill-mask --checkpoint "$HERE/bert/step-00000004" "The computer is a [MASK] machine." --top-k 5 --threads 1) > expected/bert-fill-mask.txt
ls -la "$HERE"/*/
