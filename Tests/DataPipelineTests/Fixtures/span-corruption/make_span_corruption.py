# Generates span-corruption.json: Hugging Face's published T5 span-corruption algorithm
# (transformers/examples/flax/language-modeling/run_t5_mlm_flax.py: compute_input_and_target_lengths,
# DataCollatorForT5MLM.random_spans_noise_mask, create_sentinel_ids, filter_input_ids), transcribed
# below unchanged except that it works on one row, run with numpy seeds, for SpanCorruptionTests.swift.
# Usage: python3 make_span_corruption.py (needs numpy); writes beside this file.
#
# "lengths": [inputs_length, tokens_length, targets_length] for inputs_length 4...600 (density 0.15,
# mean span 3). "rows": for several lengths and seeds, the tokens, HF's noise mask, and the inputs and
# labels HF builds from them (sentinel k = vocab − 1 − k, as len(tokenizer) − 1 − k for T5's tokenizer;
# EOS = 1).
import json, os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
noise_density, mean_noise_span_length, vocab, eos = 0.15, 3.0, 1000, 1

def compute_input_and_target_lengths(inputs_length, noise_density, mean_noise_span_length):
    def _tokens_length_to_inputs_length_targets_length(tokens_length):
        num_noise_tokens = int(round(tokens_length * noise_density))
        num_nonnoise_tokens = tokens_length - num_noise_tokens
        num_noise_spans = int(round(num_noise_tokens / mean_noise_span_length))
        _input_length = num_nonnoise_tokens + num_noise_spans + 1
        _output_length = num_noise_tokens + num_noise_spans + 1
        return _input_length, _output_length
    tokens_length = inputs_length
    while _tokens_length_to_inputs_length_targets_length(tokens_length + 1)[0] <= inputs_length:
        tokens_length += 1
    inputs_length, targets_length = _tokens_length_to_inputs_length_targets_length(tokens_length)
    if noise_density == 0.5 and targets_length > inputs_length:
        tokens_length -= 1
        targets_length -= 1
    return tokens_length, targets_length

def random_spans_noise_mask(length):
    orig_length = length
    num_noise_tokens = int(np.round(length * noise_density))
    num_nonnoise_tokens = length - num_noise_tokens
    num_noise_tokens = min(max(num_noise_tokens, 1), length - 1)
    num_noise_spans = int(np.round(min(num_noise_tokens, num_nonnoise_tokens) / mean_noise_span_length))
    num_noise_spans = max(num_noise_spans, 1)
    num_nonnoise_tokens = length - num_noise_tokens
    def _random_segmentation(num_items, num_segments):
        mask_indices = np.arange(num_items - 1) < (num_segments - 1)
        np.random.shuffle(mask_indices)
        first_in_segment = np.pad(mask_indices, [[1, 0]])
        segment_id = np.cumsum(first_in_segment)
        _, segment_length = np.unique(segment_id, return_counts=True)
        return segment_length
    noise_span_lengths = _random_segmentation(num_noise_tokens, num_noise_spans)
    nonnoise_span_lengths = _random_segmentation(num_nonnoise_tokens, num_noise_spans)
    interleaved_span_lengths = np.reshape(np.stack([nonnoise_span_lengths, noise_span_lengths], axis=1), [num_noise_spans * 2])
    span_starts = np.cumsum(interleaved_span_lengths)[:-1]
    span_start_indicator = np.zeros((length,), dtype=np.int8)
    span_start_indicator[span_starts] = True
    span_num = np.cumsum(span_start_indicator)
    is_noise = np.equal(span_num % 2, 1)
    return is_noise[:orig_length]

def create_sentinel_ids(mask_indices):
    start_indices = mask_indices - np.roll(mask_indices, 1, axis=-1) * mask_indices
    start_indices[:, 0] = mask_indices[:, 0]
    sentinel_ids = np.where(start_indices != 0, np.cumsum(start_indices, axis=-1), start_indices)
    sentinel_ids = np.where(sentinel_ids != 0, (vocab - sentinel_ids), 0)
    sentinel_ids -= mask_indices - start_indices
    return sentinel_ids

def filter_input_ids(input_ids, sentinel_ids):
    batch_size = input_ids.shape[0]
    input_ids_full = np.where(sentinel_ids != 0, sentinel_ids, input_ids)
    input_ids = input_ids_full[input_ids_full >= 0].reshape((batch_size, -1))
    input_ids = np.concatenate([input_ids, np.full((batch_size, 1), eos, dtype=np.int32)], axis=-1)
    return input_ids

lengths = [[n, *compute_input_and_target_lengths(n, noise_density, mean_noise_span_length)] for n in range(4, 601)]
rows = []
for length in [3, 8, 20, 57, 114, 568]:
    for seed in range(3):
        np.random.seed(1000 * length + seed)
        tokens = np.random.randint(2, vocab - 120, size=(1, length)).astype(np.int32)
        mask = np.asarray([random_spans_noise_mask(length)])
        labels_mask = ~mask
        inputs = filter_input_ids(tokens, create_sentinel_ids(mask.astype(np.int8)))
        labels = filter_input_ids(tokens, create_sentinel_ids(labels_mask.astype(np.int8)))
        rows.append({'tokens': tokens[0].tolist(), 'noise': mask[0].astype(int).tolist(),
                     'inputs': inputs[0].tolist(), 'labels': labels[0].tolist()})
with open(os.path.join(here, 'span-corruption.json'), 'w') as f:
    json.dump({'vocab': vocab, 'eos': eos, 'lengths': lengths, 'rows': rows}, f, separators=(',', ':'))
