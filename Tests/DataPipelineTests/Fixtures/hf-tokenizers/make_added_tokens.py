#!/usr/bin/env python3
"""Adds tokens (normalized and not, lstrip/rstrip, special) to the committed wordpiece.json and
unigram.json and records what `encode` gives.

    pip install tokenizers==0.23.3
    python3 Tests/DataPipelineTests/Fixtures/hf-tokenizers/make_added_tokens.py

Outputs: wordpiece-added.json, unigram-added.json and their cases in added-cases.json (the layout
of cases.json). Run after make_hf_tokenizers.py.
"""
import json
import os

from tokenizers import AddedToken, Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = ["say HelloWorld now", "say helloworld now", "HELLOWORLD", "x <ent> y", "x<ent>y", "[NEW] [new]",
         "Café helloworld<ent>the", "so fine", "so ｆｉｎｅ", "ｆｉｎｅ<ent>ＦＩＮＥ", "plain text only"]
PAIRS = [("HelloWorld", "<ent> fine")]


def cases(tok):
    out = []
    for text in TEXTS:
        special = tok.encode(text).ids
        out.append({"text": text, "ids": tok.encode(text, add_special_tokens=False).ids, "special": special,
                    "decoded": tok.decode(special), "decoded_all": tok.decode(special, skip_special_tokens=False)})
    for a, b in PAIRS:
        out.append({"text": a, "pair": b, "ids": tok.encode(a, b, add_special_tokens=False).ids, "special": tok.encode(a, b).ids})
    return out


def main():
    out = {}
    for source, name, normalized_word in [("wordpiece.json", "wordpiece-added.json", "HelloWorld"),
                                          ("unigram.json", "unigram-added.json", "ｆｉｎｅ")]:
        tok = Tokenizer.from_file(os.path.join(HERE, source))
        tok.add_tokens([AddedToken(normalized_word, normalized=True),
                        AddedToken("<ent>", normalized=False, lstrip=True, rstrip=True)])
        tok.add_special_tokens([AddedToken("[NEW]", normalized=False)])
        tok.save(os.path.join(HERE, name))
        out[name] = cases(Tokenizer.from_file(os.path.join(HERE, name)))
    with open(os.path.join(HERE, "added-cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
