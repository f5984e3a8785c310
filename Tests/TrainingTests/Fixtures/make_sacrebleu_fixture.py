# Generates sacrebleu.json: corpus BLEU and chrF of several hypothesis/reference sets as computed by the
# `sacrebleu` package (sacreBLEU's defaults: BLEU with 13a tokenization, exponential smoothing and the
# exponential brevity penalty; chrF with character n-grams up to 6, no word n-grams, beta 2), for
# Seq2SeqMetricsTests.swift. Usage: python3 make_sacrebleu_fixture.py (needs sacrebleu); writes beside
# this file. Each case: hypotheses, references (one per hypothesis), and BLEU's score, counts, totals,
# brevity penalty, system and reference lengths, and chrF's score.
import json, os, sacrebleu
from sacrebleu.metrics import BLEU, CHRF

here = os.path.dirname(os.path.abspath(__file__))
cases = {
    'typical': (["The cat sat on the mat.", "He read the book, quietly.", "It costs 3.50 dollars - or 1,000 yen!"],
                ["The cat is sitting on the mat.", "He read the book quietly.", "It costs 3.50 dollars - or 1,000 yen."]),
    'perfect': (["Open the file.", "Save changes?"], ["Open the file.", "Save changes?"]),
    'empty hypothesis': (["", "Datei öffnen"], ["Die Datei konnte nicht geöffnet werden.", "Datei öffnen"]),
    'all empty': ([""], ["Abbrechen"]),
    'short': (["the"], ["the cat sat on the mat"]),
    'no match': (["xyz qqq"], ["abc def"]),
    'smoothed': (["the cat the dog ran away fast", "a b"], ["the cat a dog sat far away", "a c"]),
    'longer than reference': (["a b c d e f g h i j", "k"], ["a b c d", "k l"]),
    'unicode': (["Fehler beim Öffnen der Datei „%s“: %s", "文件 未找到 。", "Ça marche — très bien…"],
                ["Fehler beim Öffnen von „%s“: %s", "找不到 文件 。", "Ça marche très bien."]),
    'punctuation and entities': (["Use &quot;--force&quot; (see man-page) [x]{y}", "x-3 2-4 a.b,c 1.5,2"],
                                 ["Use \"--force\" (see the man page) [x]{y}", "x-3 2-4 a.b,c 1.5,2"]),
    'whitespace': (["  spaced   out\ttext  ", "tab\tseparated\nline"], ["spaced out text", "tab separated line"]),
}
out = []
for name, (hyps, refs) in cases.items():
    bleu = BLEU().corpus_score(hyps, [refs])
    chrf = CHRF().corpus_score(hyps, [refs])
    out.append({'name': name, 'hypotheses': hyps, 'references': refs,
                'bleu': bleu.score, 'counts': list(bleu.counts), 'totals': list(bleu.totals), 'bp': bleu.bp,
                'sys_len': bleu.sys_len, 'ref_len': bleu.ref_len, 'chrf': chrf.score})
with open(os.path.join(here, 'sacrebleu.json'), 'w', encoding='utf-8') as f:
    json.dump({'sacrebleu': sacrebleu.__version__, 'cases': out}, f, ensure_ascii=False, indent=1)
    f.write('\n')
