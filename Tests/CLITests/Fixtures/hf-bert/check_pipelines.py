# Shows that Hugging Face pipelines load pretrain's exports and agree with `pretrain predict`:
# fill-mask on the project's own BERT (byte-level BPE tokenizer, legacy fixture checkpoint) and on an
# imported WordPiece BERT (bert-mlm), text-classification on a classifier fine-tuned here (label names
# from the data) and on the imported bert-classify (id2label kept), text-generation on the GPT fixture.
# Usage: python3 check_pipelines.py [PRETRAIN_BINARY] (default .build/release/pretrain, run from the
# repository root); needs torch and transformers. Prints one line per check; exits 1 if one fails.
import json, os, subprocess, sys, tempfile
from transformers import pipeline

binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.build/release/pretrain')
here = os.path.dirname(os.path.abspath(__file__))
legacy = os.path.join(here, '..', 'legacy')
work = tempfile.mkdtemp(prefix='pipelines-')
failed = False

def pretrain(*args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout

def export(checkpoint, name):
    out = os.path.join(work, name)
    pretrain('checkpoint', 'export', checkpoint, '--out', out)
    return out

def imported(source, name):
    out = os.path.join(work, name)
    pretrain('checkpoint', 'import', source, '--out', out)
    return out + '/step-00000000'

def report(what, ok, detail):
    global failed
    failed |= not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")

def fill_mask(checkpoint, text, name):
    ours = json.loads(pretrain('predict', '--task', 'fill-mask', '--checkpoint', checkpoint, '--input', text, '--json', '--top-k', '5'))[0]
    theirs = pipeline('fill-mask', model=export(checkpoint, name), top_k=5)(text)
    same = [o['token'] for o in ours] == [t['token'] for t in theirs]
    diff = max(abs(o['score'] - t['score']) for o, t in zip(ours, theirs))
    report(f'fill-mask {name}', same and diff < 1e-5,
           f"top-5 ids {'equal' if same else 'DIFFER'} {[t['token'] for t in theirs]}, max |p diff| {diff:.1e}, "
           f"p(top) {theirs[0]['score']:.6f} HF vs {ours[0]['score']:.6f} ours")

def classify(checkpoint, text, name):
    ours = json.loads(pretrain('predict', '--task', 'classify', '--checkpoint', checkpoint, '--input', text, '--json'))
    theirs = pipeline('text-classification', model=export(checkpoint, name), top_k=None)(text)
    theirs = theirs[0] if isinstance(theirs[0], list) else theirs
    scores = {t['label']: t['score'] for t in theirs}
    same = set(scores) == set(ours['scores']) and theirs[0]['label'] == ours['label']
    diff = max(abs(scores[k] - ours['scores'][k]) for k in scores) if same else float('inf')
    report(f'text-classification {name}', same and diff < 1e-5, f"labels {sorted(scores)}, top {theirs[0]['label']} "
           f"{theirs[0]['score']:.6f} HF vs {ours['label']} {ours['score']:.6f} ours, max |p diff| {diff:.1e}")

fill_mask(os.path.join(legacy, 'bert/step-00000004'), 'The computer is a [MASK] machine.', 'project-bert-bpe')
fill_mask(imported(os.path.join(here, 'bert-mlm'), 'mlm'), 'Hello, Wörld! A dog is [MASK].', 'imported-bert-wordpiece')
classify(imported(os.path.join(here, 'bert-classify'), 'classify'), 'The cat sat on the mat.', 'imported-bert-classify')
train = os.path.join(work, 'train.jsonl')
with open(train, 'w') as f:
    for i in range(32):
        f.write(json.dumps({'text': ['Computers compute numbers.', 'Love is all you need.'][i % 2], 'label': ['computers', 'love'][i % 2]}) + '\n')
pretrain('finetune', '--checkpoint', os.path.join(legacy, 'bert/step-00000004'), '--data', train, '--labels', '2',
         '--steps', '10', '--micro-batch', '4', '--out', os.path.join(work, 'tuned'))
classify(os.path.join(work, 'tuned'), 'Computers are useless.', 'project-bert-finetuned')

gpt = os.path.join(legacy, 'gpt/step-00000004')
ours = 'The' + pretrain('generate', '--checkpoint', gpt, '--prompt', 'The', '--max-new-tokens', '8', '--top-k', '1', '--quiet', '--no-stop-at-eot')[:-1]
generator = pipeline('text-generation', model=export(gpt, 'gpt'))
theirs = generator('The', max_new_tokens=8, do_sample=False)[0]['generated_text']
report('text-generation project-gpt', theirs == ours, f'greedy 8 tokens {theirs!r} HF vs {ours!r} ours')
sys.exit(1 if failed else 0)
