#!/usr/bin/env python3
"""One side-by-side sitting of the T5 training step: ours (`pretrain bench step --preset P --json`) and
the Hugging Face peer (Tests/Peers/torch_t5.py), alternating rounds so both see the same machine,
then the medians over rounds and the ratio ours / PyTorch (tokens/s = source + target tokens).
  python3 Tests/Peers/t5_sitting.py --preset t5-s --threads 2 --rounds 3 --steps 5 [--precision bf16]
  python3 Tests/Peers/t5_sitting.py --preset t5-base --threads 2 --rounds 1 --steps 2 --warmup 1
--pretrain defaults to .build/release/pretrain. Prints every round's JSON, the load average before
and after, and a summary line (prefix SITTING).
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def result_line(cmd, prefix):
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [l for l in out.stdout.splitlines() if l.startswith(prefix)]
    if out.returncode != 0 or not lines:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return json.loads(lines[-1][len(prefix) - 1:] if prefix == "{" else lines[-1][len(prefix):])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="t5-s"); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3); ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2); ap.add_argument("--precision", default="fp32")
    ap.add_argument("--pretrain", default=os.path.join(ROOT, ".build/release/pretrain"))
    a = ap.parse_args()
    common = ["--preset", a.preset, "--threads", str(a.threads), "--steps", str(a.steps), "--warmup", str(a.warmup), "--precision", a.precision]
    print(f"sitting {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load average before {os.getloadavg()}", flush=True)
    ours, peer = [], []
    for r in range(a.rounds):
        o = result_line([a.pretrain, "bench", "step", "--json"] + common, "{")
        print(f"round {r + 1} ours  {json.dumps(o)}", flush=True)
        p = result_line([sys.executable, os.path.join(HERE, "torch_t5.py")] + common, "RESULT ")
        print(f"round {r + 1} torch {json.dumps(p)}", flush=True)
        ours.append(o["tokens_per_s"]); peer.append(p["tokens_per_s"])
    mo, mp = statistics.median(ours), statistics.median(peer)
    print(f"load average after {os.getloadavg()}")
    print("SITTING " + json.dumps(dict(preset=a.preset, threads=a.threads, precision=a.precision, rounds=a.rounds, steps=a.steps,
                                       ours_tokens_per_s=mo, torch_tokens_per_s=mp, ratio=round(mo / mp, 3),
                                       ours_rounds=ours, torch_rounds=peer)))


if __name__ == "__main__":
    main()
