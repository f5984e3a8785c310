#!/usr/bin/env python3
"""Adds truncation and padding to the committed wordpiece.json and records what `encode` gives.

    pip install tokenizers==0.23.3
    python3 Tests/DataPipelineTests/Fixtures/hf-tokenizers/make_limits.py

Outputs: wordpiece-limits.json (truncation LongestFirst 16, padding Fixed 20) and
wordpiece-limits-left.json (truncation from the left 9 and padding on the left to a multiple of 8),
with their cases in limits-cases.json (same layout as cases.json). Run after make_hf_tokenizers.py.
"""
import json
import os

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = ["", "a", "the city of the world", "unbelievable tokenization " * 6, "Café 中文 😀 " * 5]
PAIRS = [("short", "the city of the world was new " * 4), ("the city of the world was new " * 4, "short"),
         ("long " * 20, "longer " * 30), ("", "x")]


def main():
    out = {}
    for name, setup in [("wordpiece-limits.json", lambda t: (t.enable_truncation(16), t.enable_padding(length=20))),
                        ("wordpiece-limits-left.json", lambda t: (t.enable_truncation(9, direction="left"),
                                                                  t.enable_padding(direction="left", pad_to_multiple_of=8)))]:
        tok = Tokenizer.from_file(os.path.join(HERE, "wordpiece.json"))
        setup(tok)
        tok.save(os.path.join(HERE, name))
        cases = []
        for text in TEXTS:
            cases.append({"text": text, "ids": tok.encode(text, add_special_tokens=False).ids, "special": tok.encode(text).ids,
                          "decoded": tok.decode(tok.encode(text).ids),
                          "decoded_all": tok.decode(tok.encode(text).ids, skip_special_tokens=False)})
        for a, b in PAIRS:
            cases.append({"text": a, "pair": b, "ids": tok.encode(a, b, add_special_tokens=False).ids, "special": tok.encode(a, b).ids})
        out[name] = cases
    with open(os.path.join(HERE, "limits-cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
