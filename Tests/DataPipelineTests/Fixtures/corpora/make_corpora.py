#!/usr/bin/env python3
"""Makes the corpus-format fixtures: the same documents as JSON lines, CSV/TSV and Parquet files.

    pip install pyarrow==<any recent>
    python3 Tests/DataPipelineTests/Fixtures/corpora/make_corpora.py

Outputs (committed; the Swift tests never need Python):
  texts.json                    the documents, in order (null = a missing value)
  texts.jsonl(.gz, .zst)        {"id": n, "text": doc} per line; nulls written as null
  texts.csv, texts.tsv          header id,text; RFC 4180 quoting (multi-line fields quoted)
  parquet/<codec>-<enc>-v<page>.parquet
                                pyarrow files for codec none/snappy/gzip/zstd, encoding plain/dict,
                                data page version 1.0/2.0; 7 rows per row group (several groups),
                                nullable text column with nulls
  parts/part-0.parquet, part-1.parquet   the documents split over two files
  bad/truncated.parquet         a good file cut short
  bad/encrypted.parquet         a good file whose tail magic is PARE (an encrypted footer's)
  bad/encrypted-footer.parquet  written by pyarrow's modular encryption (encrypted footer, PARE)
  bad/encrypted-columns.parquet the same with a plaintext footer and an encrypted text column
  bad/delta.parquet             DELTA_LENGTH_BYTE_ARRAY encoding (unsupported)
  bad/brotli.parquet            BROTLI codec (unsupported)
  bad/ints.parquet              a text column of int64
"""
import csv
import gzip
import io
import json
import os

import base64
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

HERE = os.path.dirname(os.path.abspath(__file__))

DOCS = [
    "The first document.", "Second, with a comma", "Quoted \"words\" inside", "multi\nline\ntext", "crlf\r\ninside",
    None, "café naïve 中文 😀", "tabs\tinside", "   leading spaces", "trailing spaces   ", "", "a,b;c|d",
    "\"starts with a quote", "ends with a quote\"", "x" * 300, None, "emoji 👍🏽 flags 🇺🇸", "line one\n\nline three",
    "ЖЖЖ кириллица", "1234567890", "same text", "same text", "same text", "<|endoftext|> literal",
    "back\\slash", "the end",
]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class InMemoryKms(pe.KmsClient):
    """A toy KMS for the fixtures: keys are "wrapped" by base64 only."""

    def __init__(self, config):
        pe.KmsClient.__init__(self)

    def wrap_key(self, key_bytes, master_key_identifier):
        return base64.b64encode(key_bytes)

    def unwrap_key(self, wrapped_key, master_key_identifier):
        return base64.b64decode(wrapped_key)


def write_encrypted(table, path, plaintext_footer):
    factory = pe.CryptoFactory(lambda config: InMemoryKms(config))
    config = pe.EncryptionConfiguration(footer_key="footer", column_keys={"col": ["text"]}, plaintext_footer=plaintext_footer,
                                        double_wrapping=False, cache_lifetime=timedelta(minutes=1))
    kms = pe.KmsConnectionConfig(custom_kms_conf={"footer": "0123456789012345", "col": "1234567890123450"})
    properties = factory.file_encryption_properties(kms, config)
    with pq.ParquetWriter(path, table.schema, encryption_properties=properties) as writer:
        writer.write_table(table)


def main():
    with open(os.path.join(HERE, "texts.json"), "w", encoding="utf-8") as f:
        json.dump(DOCS, f, ensure_ascii=False, indent=0)
    lines = "".join(json.dumps({"id": i, "text": d}, ensure_ascii=False) + "\n" for i, d in enumerate(DOCS)).encode()
    write(os.path.join(HERE, "texts.jsonl"), lines)
    write(os.path.join(HERE, "texts.jsonl.gz"), gzip.compress(lines, mtime=0))
    write(os.path.join(HERE, "texts.jsonl.zst"), pa.Codec("zstd").compress(lines, asbytes=True))
    for name, delimiter in [("texts.csv", ","), ("texts.tsv", "\t")]:
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(["id", "text"])
        for i, d in enumerate(DOCS):
            writer.writerow([i, "" if d is None else d])
        write(os.path.join(HERE, name), out.getvalue().encode())

    table = pa.table({"id": pa.array(range(len(DOCS)), pa.int64()), "text": pa.array(DOCS, pa.string())})
    for codec in ["none", "snappy", "gzip", "zstd"]:
        for encoding in ["plain", "dict"]:
            for page in ["1.0", "2.0"]:
                path = os.path.join(HERE, "parquet", f"{codec}-{encoding}-v{page[0]}.parquet")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                pq.write_table(table, path, compression=codec, use_dictionary=encoding == "dict",
                               data_page_version=page, row_group_size=7, write_statistics=False)
    half = len(DOCS) // 2
    os.makedirs(os.path.join(HERE, "parts"), exist_ok=True)
    pq.write_table(table.slice(0, half), os.path.join(HERE, "parts", "part-0.parquet"), compression="snappy")
    pq.write_table(table.slice(half), os.path.join(HERE, "parts", "part-1.parquet"), compression="zstd")

    os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
    good = open(os.path.join(HERE, "parquet", "snappy-dict-v1.parquet"), "rb").read()
    write(os.path.join(HERE, "bad", "truncated.parquet"), good[: len(good) // 2])
    write(os.path.join(HERE, "bad", "encrypted.parquet"), good[:-4] + b"PARE")
    pq.write_table(table, os.path.join(HERE, "bad", "delta.parquet"), compression="none", use_dictionary=False,
                   column_encoding={"text": "DELTA_LENGTH_BYTE_ARRAY", "id": "PLAIN"})
    pq.write_table(table, os.path.join(HERE, "bad", "brotli.parquet"), compression="brotli")
    write_encrypted(table, os.path.join(HERE, "bad", "encrypted-footer.parquet"), plaintext_footer=False)
    write_encrypted(table, os.path.join(HERE, "bad", "encrypted-columns.parquet"), plaintext_footer=True)
    pq.write_table(pa.table({"text": pa.array(range(5), pa.int64())}), os.path.join(HERE, "bad", "ints.parquet"))


if __name__ == "__main__":
    main()
