"""Cross-check an `slt export --format safetensors` directory against Hugging Face's GPT-2.

Loads the export into transformers' GPT2LMHeadModel (an independent GPT-2 implementation) and
prints the mean token cross-entropy over the first N windows of an slt token cache, the same
windows `slt eval --windows N` measures. The two numbers must agree (float32 rounding aside).

    python verify_hf_export.py EXPORT_DIR TOKEN_CACHE(.gpt2.bin) SEQ_LEN N [START_TOKEN]

START_TOKEN is the first token of the evaluation span (0 for a whole file; the holdout start
for a held-out validation set). Needs torch, transformers, safetensors, numpy (not part of the
build; run by hand, see docs/BENCHMARKS.md).
"""
import struct
import sys

import numpy as np
import torch
from transformers import GPT2LMHeadModel


def tokens(cache):
    with open(cache, "rb") as f:
        head = f.read(36)
        magic, size, mtime, count, articles = struct.unpack("<8sqqqi", head)
        assert magic == b"SLTTOK01", "not an slt token cache"
        f.read(8 * articles)
        return np.frombuffer(f.read(2 * count), dtype="<u2").astype(np.int64)


def main():
    export, cache, seq_len, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    start = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    ids = tokens(cache)[start:]
    model = GPT2LMHeadModel.from_pretrained(export, torch_dtype=torch.float32)
    model.eval()
    nll, count = 0.0, 0
    with torch.no_grad():
        for w in range(n):
            window = torch.tensor(ids[w * seq_len: w * seq_len + seq_len + 1])
            logits = model(window[None, :-1]).logits[0]
            nll += torch.nn.functional.cross_entropy(logits, window[1:], reduction="sum").item()
            count += seq_len
    print(f"hf GPT2LMHeadModel: loss {nll / count:.6f} over {n} windows of {seq_len} tokens")


if __name__ == "__main__":
    main()
