#!/usr/bin/env bash
# Pretrained vs from-scratch t5-tiny fine-tuned on gettext en→de (BENCHMARKS.md, "Seq2seq:
# pretrained vs from-scratch"). Every process runs one compute thread.
#
#   bench/t5_transfer.sh prep                  data: fortunes (span corruption), gettext pairs ≤ 64 chars
#   bench/t5_transfer.sh pretrain              span corruption on fortunes, 2 ranks
#   bench/t5_transfer.sh init SEED             "from scratch": the initialisation of seed SEED (lr 0)
#   bench/t5_transfer.sh finetune ARM SEED     ARM = pretrained | scratch
#   bench/t5_transfer.sh eval ARM SEED [STEP]  loss, BLEU, chrF on the 300 held-out pairs (greedy)
#   bench/t5_transfer.sh examples ARM SEED     greedy outputs (JSON lines) of the first 40 held-out sources
#   bench/t5_transfer.sh all                   everything above, the arms side by side
#
# Sizes can be changed from the environment (PT_STEPS, FT_STEPS, ...); outputs go to runs/t5x-*.
set -euo pipefail
BIN=${BIN:-.build/release/pretrain}
PT_STEPS=${PT_STEPS:-600}         # span-corruption steps (2 ranks × 16 rows of 64 tokens)
FT_STEPS=${FT_STEPS:-500}         # fine-tuning steps (16 pairs each), the same for both arms
FT_LR=${FT_LR:-1e-3}
LEN=${LEN:-56}                    # source and target tokens with EOS (the pairs kept fit; longer ones are cut)
MAX_NEW=${MAX_NEW:-48}
PREFIX='translate English to German: '
MPI=(mpirun -n 2)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
MPI+=(--oversubscribe)

case "${1:-}" in
prep)
    "$BIN" data prepare --input /usr/share/games/fortunes --document-separator % --vocab-size 4096 \
        --extra-ids 100 --out data/fortunes-t5
    "$BIN" data gettext-task --lang de --out data/gettext-de
    # Short UI strings: both sides at most 64 characters (4606 of 6301 training pairs); the test set
    # is the first 300 such held-out pairs.
    python3 - <<'PY'
import json
for split, limit in [("train", None), ("test", 300)]:
    rows = [line for line in open(f"data/gettext-de/{split}.jsonl")
            if all(len(v) <= 64 for v in json.loads(line).values())]
    open(f"data/gettext-de/{split}-short.jsonl", "w").writelines(rows[:limit] if limit else rows)
    print(f"data/gettext-de/{split}-short.jsonl: {len(rows[:limit] if limit else rows)} pairs")
PY
    ;;
pretrain)
    "${MPI[@]}" "$BIN" train --config configs/t5-tiny.yaml --quiet --set threads_per_process=1 \
        --set training.steps="$PT_STEPS" --set schedule.warmup_steps=50 --set training.eval_interval=200 \
        --set checkpoint.every=200 --set checkpoint.keep_last=10 --set logging.run_dir=runs/t5x-pretrain
    ;;
init)
    "$BIN" train --config configs/t5-tiny.yaml --quiet --set num_processes=1 --set threads_per_process=1 \
        --set training.steps=1 --set optimizer.lr=0 --set schedule.kind=constant --set training.seed="$2" \
        --set training.eval_interval=0 --set logging.run_dir="runs/t5x-init-$2"
    ;;
finetune)
    case "$2" in
        pretrained) start=runs/t5x-pretrain/checkpoints ;;
        scratch) start="runs/t5x-init-$3/checkpoints" ;;
        *) echo "ARM is pretrained or scratch" >&2; exit 2 ;;
    esac
    "$BIN" finetune --task translation --checkpoint "$start" --data data/gettext-de/train-short.jsonl \
        --prefix "$PREFIX" --seq-len "$LEN" --target-len "$LEN" --micro-batch 16 --steps "$FT_STEPS" \
        --lr "$FT_LR" --eval-every 100 --save-every 100 --threads 1 --seed "$3" --out "runs/t5x-ft-$2-$3"
    ;;
eval)
    ckpt="runs/t5x-ft-$2-$3"
    [ -n "${4:-}" ] && ckpt="$ckpt/$(printf 'step-%08d' "$4")"
    "$BIN" eval --checkpoint "$ckpt" --data data/gettext-de/test-short.jsonl --generate \
        --max-new-tokens "$MAX_NEW" --micro-batch 16 --threads 1
    ;;
examples)
    python3 -c 'import json, sys
for line in list(open("data/gettext-de/test-short.jsonl"))[:40]:
    print(json.dumps({"text": sys.argv[1] + json.loads(line)["source"]}))' "$PREFIX" > "runs/t5x-examples-$2-$3.jsonl"
    "$BIN" predict --checkpoint "runs/t5x-ft-$2-$3" --task translation --input-file "runs/t5x-examples-$2-$3.jsonl" \
        --max-new-tokens "$MAX_NEW" --threads 1 --json
    ;;
all)
    "$0" prep
    "$0" pretrain > runs/t5x-pretrain.log 2>&1 &
    for s in 1 2 3; do ("$0" init "$s" && "$0" finetune scratch "$s") > "runs/t5x-scratch-$s.log" 2>&1 & done
    wait
    for s in 1 2 3; do "$0" finetune pretrained "$s" > "runs/t5x-pretrained-$s.log" 2>&1 & done
    wait
    for arm in pretrained scratch; do for s in 1 2 3; do "$0" eval "$arm" "$s" > "runs/t5x-eval-$arm-$s.log" 2>&1; done; done
    for arm in pretrained scratch; do "$0" examples "$arm" 1 > "runs/t5x-examples-$arm-1.txt"; done
    ;;
*) sed -n '2,14p' "$0"; exit 2 ;;
esac
