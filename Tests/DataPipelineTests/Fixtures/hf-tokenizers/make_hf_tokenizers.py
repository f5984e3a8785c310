#!/usr/bin/env python3
"""Makes the WordPiece and Unigram fixtures with the Python `tokenizers` library (the reference).

    pip install tokenizers==0.23.3 sentencepiece==0.2.3 protobuf
    python3 Tests/DataPipelineTests/Fixtures/hf-tokenizers/make_hf_tokenizers.py

HF's trainers are not deterministic (hash-map order), so a rerun rewrites every file; cases.json
always matches the files written with it. Outputs (committed; the Swift tests never need Python):
  corpus.txt                 the small training corpus (generated from a fixed seed)
  wordpiece.json             WordPiece trained by WordPieceTrainer (BERT uncased normalizer,
                             BertPreTokenizer, TemplateProcessing [CLS] $A [SEP] / $B:1 [SEP]:1)
  wordpiece-cased.json       the same vocabulary, cased + strip_accents false + BertProcessing,
                             max_input_chars_per_word 12
  unigram.json               Unigram trained by UnigramTrainer (byte_fallback, NFKC + Replace,
                             Metaspace always, TemplateProcessing $A </s> / $A </s> $B </s>)
  unigram-first.json         the same vocabulary, Metaspace prepend_scheme first, no normalizer,
                             RobertaProcessing <s> </s>
  t5.json                    T5's tokenizer.json layout (as on the Hub for t5-small) around a
                             SentencePiece Unigram trained on corpus.txt by the sentencepiece
                             library (vocab 300, nmt_nfkc): Precompiled charsmap normalizer,
                             WhitespaceSplit + Metaspace(add_prefix_space), $A </s> template
  t5-converter.json          the same model as transformers' SpmConverter writes it today:
                             Precompiled + Strip(right) + Replace(" {2,}" -> "▁"), Metaspace
  cases.json                 for each file above: per text the ids without and with special tokens,
                             pair ids, and the decoded text
  wordpiece-trainer.json     the vocabulary WordPieceTrainer learns from corpus.txt (vocab 300,
                             min_frequency 2, specials [PAD] [UNK] [CLS] [SEP] [MASK]), from
                             several runs (HF numbers the ## alphabet in hash order, see notes)
"""
import base64
import json
import os
import random
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))

WORDS = ("the of and to in is was for on that with as by at from it his an were are which this be "
         "also had first one their its new after who they have her she two been other when there all "
         "during into school time may years more most only over city some world would where later up "
         "such used many can state about national out known university united then made several "
         "café naïve résumé über straße jalapeño façade crème brûlée déjà vu piñata "
         "running jumped quickly unbelievable tokenization preprocessing transformers "
         "中文 日本語 한국어 東京 北京 Ελληνικά кириллица мир").split()
PUNCT = [".", ",", "!", "?", ";", ":", "-", "'s", "(", ")", "\"", "$5", "100%", "#1", "@home", "…", "«", "»", "¿"]

TEXTS = [
    "", " ", "   ", "a", "Hello world!", "Hello  world", "HeLLo WoRLD", "don't stop, it's fine.",
    "Café naïve résumé ÜBER straße", "e\u0301 combining acute", "Ångström ﬁ ligature ①②③ ｆｕｌｌ",
    "中文字符 日本語です 한국어", "北京东京abc中", "Ελληνικά кириллица", "emoji 😀👍🏽 🇺🇸 flags 🥲",
    "tabs\tand\ttabs\t\t", "cr\r\nlf", "mixed \t\n spaces", "nbsp\u00a0here", "ideographic\u3000space",
    "zwsp\u200bnot space", "ctrl\u0001\u0007\u001b chars\u007f", "fs\u001cgs\u001dus\u001f", "soft\u00adhyphen",
    "replacement \ufffd char", "private \ue000 use", "   leading", "trailing   ", "many      spaces here",
    "a" * 150, "unbelievably" * 12, "tokenization" * 3, "supercalifragilisticexpialidocious",
    "$5 100% #1 @home a.b,c;d:e ~x^y|z `q` <tag>", "«quoted» ¿qué? ¡sí! — dash – en", "x² ½ Ⅻ ٣٤",
    "https://example.com/path?q=1&r=2", "The quick brown fox jumps over the lazy dog.",
    "[CLS] literal [SEP] tokens [MASK] here", "<s> and </s> and <pad>", "<unk>", "▁already▁meta",
    "mixed 中文 and english 😀 together", "line\u2028sep\u2029para", "\n\n\n", "x\n\ny",
]
PAIRS = [("Hello world!", "How are you?"), ("", "second only"), ("first only", ""),
         ("Café 中文", "naïve 😀"), ("a" * 150, "b")]


def corpus():
    rng = random.Random(20)
    lines = []
    for _ in range(600):
        n = rng.randint(3, 14)
        words = []
        for _ in range(n):
            w = rng.choice(WORDS)
            if rng.random() < 0.15:
                w = w.capitalize()
            if rng.random() < 0.1:
                w += rng.choice(PUNCT)
            words.append(w)
        lines.append(" ".join(words))
    return lines


def cases(tok):
    out = []
    for text in TEXTS:
        plain = tok.encode(text, add_special_tokens=False).ids
        special = tok.encode(text).ids
        out.append({"text": text, "ids": plain, "special": special,
                    "decoded": tok.decode(special), "decoded_all": tok.decode(special, skip_special_tokens=False)})
    for a, b in PAIRS:
        out.append({"text": a, "pair": b, "ids": tok.encode(a, b, add_special_tokens=False).ids,
                    "special": tok.encode(a, b).ids})
    return out


def wordpiece_trainer():
    return trainers.WordPieceTrainer(vocab_size=300, min_frequency=2, show_progress=False,
                                     special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])


def bert_tokenizer(lowercase=True):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    return tok


def t5_tokenizers(corpus_path):
    """A SentencePiece Unigram model in T5's two tokenizer.json layouts (legacy Hub, converter)."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(input=corpus_path, model_prefix=prefix, vocab_size=300, model_type="unigram",
                                       pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0,
                                       num_threads=1, minloglevel=2)
        proto = sentencepiece_model_pb2.ModelProto()
        with open(prefix + ".model", "rb") as f:
            proto.ParseFromString(f.read())
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()
    vocab = [[p.piece, p.score] for p in proto.pieces]
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
             for i, c in enumerate(["<pad>", "</s>", "<unk>"])]
    template = {"type": "TemplateProcessing",
                "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}}
    legacy = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
              "normalizer": {"type": "Precompiled", "precompiled_charsmap": charsmap},
              "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                  {"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}]},
              "post_processor": template,
              "decoder": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True},
              "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab}}
    converter = json.loads(json.dumps(legacy))
    converter["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": charsmap},
        {"type": "Strip", "strip_left": False, "strip_right": True},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]}
    converter["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    converter["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    converter["model"]["byte_fallback"] = False
    return legacy, converter


def main():
    lines = corpus()
    path = os.path.join(HERE, "corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    wp = bert_tokenizer()
    wp.train([path], wordpiece_trainer())
    cls, sep = wp.token_to_id("[CLS]"), wp.token_to_id("[SEP]")
    wp.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    wp.save(os.path.join(HERE, "wordpiece.json"))

    cased = json.loads(wp.to_str())
    cased["normalizer"] = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": False, "lowercase": False}
    cased["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", sep], "cls": ["[CLS]", cls]}
    cased["model"]["max_input_chars_per_word"] = 12
    cased_tok = Tokenizer.from_str(json.dumps(cased))
    cased_tok.save(os.path.join(HERE, "wordpiece-cased.json"))

    uni = Tokenizer(models.Unigram())
    uni.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("``", "\"")])
    uni.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    uni.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="always")])
    uni.train([path], trainers.UnigramTrainer(vocab_size=400, show_progress=False, unk_token="<unk>",
                                              special_tokens=["<pad>", "</s>", "<unk>"]))
    # byte_fallback as Llama-style SentencePiece models have it: <0xNN> pieces (score 0) in the vocab.
    trained = json.loads(uni.to_str())
    trained["model"]["byte_fallback"] = True
    trained["model"]["vocab"] += [[f"<0x{b:02X}>", 0.0] for b in range(256)]
    uni = Tokenizer.from_str(json.dumps(trained))
    eos = uni.token_to_id("</s>")
    uni.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)])
    uni.save(os.path.join(HERE, "unigram.json"))

    first = json.loads(uni.to_str())
    first["normalizer"] = None
    first["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
    first["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
    first["added_tokens"].append({"id": len(first["model"]["vocab"]), "content": "<s>", "single_word": False, "lstrip": False,
                                  "rstrip": False, "normalized": False, "special": True})
    first["model"]["vocab"].append(["<s>", 0.0])
    first["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", eos], "cls": ["<s>", len(first["model"]["vocab"]) - 1],
                               "trim_offsets": True, "add_prefix_space": True}
    first_tok = Tokenizer.from_str(json.dumps(first))
    first_tok.save(os.path.join(HERE, "unigram-first.json"))

    t5, t5_converter = t5_tokenizers(path)
    with open(os.path.join(HERE, "t5.json"), "w", encoding="utf-8") as f:
        json.dump(t5, f, ensure_ascii=False, indent=1)
    with open(os.path.join(HERE, "t5-converter.json"), "w", encoding="utf-8") as f:
        json.dump(t5_converter, f, ensure_ascii=False, indent=1)

    all_cases = {}
    for name, tok in [("wordpiece.json", wp), ("wordpiece-cased.json", cased_tok), ("unigram.json", uni),
                      ("unigram-first.json", first_tok), ("t5.json", None), ("t5-converter.json", None)]:
        all_cases[name] = cases(Tokenizer.from_file(os.path.join(HERE, name)))
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(all_cases, f, ensure_ascii=False, indent=0)

    # WordPieceTrainer, several runs: the set of tokens, and the ids of each run.
    runs = []
    for _ in range(5):
        t = bert_tokenizer()
        t.train([path], wordpiece_trainer())
        vocab = t.get_vocab()
        runs.append([tok for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1])])
    with open(os.path.join(HERE, "wordpiece-trainer.json"), "w", encoding="utf-8") as f:
        sets = [set(r) for r in runs]
        json.dump({"common_to_every_run": sorted(set.intersection(*sets)), "vocab_size": 300, "min_frequency": 2, "runs": runs,
                   "same_set_every_run": all(set(r) == set(runs[0]) for r in runs),
                   "same_order_every_run": all(r == runs[0] for r in runs)}, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
