# Generates the tiny random Hugging Face BERT directories the import tests read, and what Hugging Face
# computes with them (expected.json), for HuggingFaceBERTImportTests.swift.
# Usage: python3 make_hf_bert_fixtures.py (needs torch, transformers, tokenizers, sentence-transformers);
# writes beside this file.
#
# Directories (each with config.json, model.safetensors (float32) and the tokenizer files
# save_pretrained writes, tokenizer.json a WordPiece with BertProcessing):
#   bert-model/        BertModel saved by sentence-transformers (modules.json, 1_Pooling/: mean pooling)
#   bert-mlm/          BertForMaskedLM
#   bert-pretraining/  BertForPreTraining
#   bert-classify/     BertForSequenceClassification, 3 labels named in id2label
# Every parameter is random (biases and LayerNorm terms included) so a misplaced tensor shows.
# expected.json: the texts; per text the ids HF's tokenizer gives ([CLS] … [SEP]); per directory the
# outputs of a float64 forward of the float32 weights: last_hidden_state (T, C) for bert-model plus
# sentence-transformers' encode() (mean pooling) with and without normalize_embeddings; logits (T, V)
# for bert-mlm; prediction logits and seq_relationship logits for bert-pretraining; logits (3) for
# bert-classify.
import json, os, torch
from tokenizers import BertWordPieceTokenizer
from transformers import (BertConfig, BertModel, BertForMaskedLM, BertForPreTraining,
                          BertForSequenceClassification, BertTokenizerFast)
from sentence_transformers import SentenceTransformer, models

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)

words = ['the', 'cat', 'sat', 'on', 'mat', 'hello', 'world', 'dog', 'and', 'a', 'b', 'is', 'here',
         '##s', '##at', '##og', '##ld', '##e', '##a', '##t', '##o', '##r', '##l', '##d']
vocab_list = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', '!', '?'] + \
    [chr(c) for c in range(ord('a'), ord('z') + 1)] + [w for w in words if w not in 'ab']
vocab = {t: i for i, t in enumerate(dict.fromkeys(vocab_list))}
wordpiece = BertWordPieceTokenizer(vocab=vocab, lowercase=True)
tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, unk_token='[UNK]', sep_token='[SEP]',
                              pad_token='[PAD]', cls_token='[CLS]', mask_token='[MASK]', do_lower_case=True)

cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=32, max_position_embeddings=24, type_vocab_size=2, layer_norm_eps=1e-12,
                 hidden_act='gelu', hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0)

texts = ['The cat sat on the mat.', 'Hello, Wörld! A dog is [MASK].', 'dogs and cats']
encoded = [tokenizer(t)['input_ids'] for t in texts]

def randomise(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('LayerNorm.weight'):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_((0.3 if p.dim() >= 2 else 0.1) * torch.randn_like(p))
    if hasattr(model, 'tie_weights'):
        model.tie_weights()
    return model.eval()

def rows(x):
    return [[round(float(v), 8) for v in row] for row in x]

def forward(model, ids):
    model = model.double()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]))
    model.float()
    return out

expected = {'texts': texts, 'ids': encoded, 'vocab_size': len(vocab)}

# BertModel through sentence-transformers (model files at the directory root, mean pooling).
base = randomise(BertModel(cfg, add_pooling_layer=True))
staging = os.path.join(here, '_staging')
base.save_pretrained(staging)
tokenizer.save_pretrained(staging)
transformer = models.Transformer(staging, max_seq_length=24)
pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode='mean')
st = SentenceTransformer(modules=[transformer, pooling], device='cpu')
st.save(os.path.join(here, 'bert-model'))
import shutil; shutil.rmtree(staging); os.remove(os.path.join(here, 'bert-model', 'README.md'))
st_model = st[0].auto_model
expected['bert-model'] = {
    'last_hidden_state': [rows(forward(st_model, ids).last_hidden_state[0]) for ids in encoded],
    'mean': [[float(v) for v in e] for e in st.encode(texts, convert_to_numpy=True)],
    'mean_normalized': [[float(v) for v in e] for e in st.encode(texts, convert_to_numpy=True, normalize_embeddings=True)],
}

def save(model, name):
    path = os.path.join(here, name)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model

mlm = save(randomise(BertForMaskedLM(cfg)), 'bert-mlm')
expected['bert-mlm'] = {'logits': [rows(forward(mlm, ids).logits[0]) for ids in encoded]}
pre = save(randomise(BertForPreTraining(cfg)), 'bert-pretraining')
expected['bert-pretraining'] = {
    'logits': [rows(forward(pre, ids).prediction_logits[0]) for ids in encoded],
    'seq_relationship_logits': [rows(forward(pre, ids).seq_relationship_logits)[0] for ids in encoded]}
labelled = BertConfig(**{**cfg.to_dict(), 'num_labels': 3, 'id2label': {0: 'negative', 1: 'neutral', 2: 'positive'},
                        'label2id': {'negative': 0, 'neutral': 1, 'positive': 2}})
classify = save(randomise(BertForSequenceClassification(labelled)), 'bert-classify')
expected['bert-classify'] = {'logits': [rows(forward(classify, ids).logits)[0] for ids in encoded]}

with open(os.path.join(here, 'expected.json'), 'w') as f:
    json.dump(expected, f)
print('ids:', encoded)
