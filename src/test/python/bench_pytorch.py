"""PyTorch eager reference for `slt bench`: the same edge-popup GPT-2 training step, timed.

    python bench_pytorch.py PRESET BATCH SEQ [STEPS] [THREADS]     e.g. tiny 16 128 10 2

Same model as slt's (pre-LN GPT-2, tied head, no biases, non-affine LayerNorm, tanh GELU,
every weight masked at density 0.3 per tensor with the straight-through estimator over |scores|,
AdamW on the scores, random tokens). Prints tokens/s (median step). Run by hand (torch is not
part of the build); numbers go to docs/BENCHMARKS.md.
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

PRESETS = {"tiny": (2, 2, 128), "mini": (4, 8, 512), "small": (12, 12, 768), "medium": (24, 16, 1024)}
VOCAB, DENSITY = 50257, 0.3


class Masked(torch.nn.Module):
    def __init__(self, shape, std):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(shape) * std, requires_grad=False)
        self.scores = torch.nn.Parameter(torch.empty(shape).uniform_(-1, 1) / math.sqrt(shape[1]))
        self.mask = None

    def update_mask(self):
        with torch.no_grad():
            a = self.scores.abs().flatten()
            k = round(DENSITY * a.numel())
            t = torch.topk(a, k, sorted=False).values.min()
            self.mask = (self.scores.abs() >= t).float()

    def effective(self):
        a = self.scores.abs()
        return self.weight * (self.mask + (a - a.detach()))


class Gpt2(torch.nn.Module):
    def __init__(self, layers, heads, d, ctx):
        super().__init__()
        self.h, self.d = heads, d
        self.wte, self.wpe = Masked((VOCAB, d), 0.02), Masked((ctx, d), 0.02)
        res = 0.02 / math.sqrt(2 * layers)
        self.blocks = torch.nn.ModuleList([torch.nn.ModuleList([Masked((3 * d, d), 0.02), Masked((d, d), res),
                                                               Masked((4 * d, d), 0.02), Masked((d, 4 * d), res)])
                                           for _ in range(layers)])

    def masked(self):
        return [m for m in self.modules() if isinstance(m, Masked)]

    def forward(self, ids):
        b, t = ids.shape
        wte = self.wte.effective()
        x = F.embedding(ids, wte) + self.wpe.effective()[:t]
        for attn, proj, fc, fc2 in self.blocks:
            q, k, v = F.linear(F.layer_norm(x, (self.d,)), attn.effective()).split(self.d, dim=2)
            q, k, v = (z.view(b, t, self.h, -1).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if "--sdpa" in sys.argv else \
                torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) +
                              torch.full((t, t), float("-inf")).triu(1), -1) @ v
            x = x + F.linear(y.transpose(1, 2).reshape(b, t, self.d), proj.effective())
            x = x + F.linear(F.gelu(F.linear(F.layer_norm(x, (self.d,)), fc.effective()), approximate="tanh"),
                             fc2.effective())
        return F.linear(F.layer_norm(x, (self.d,)), wte)


def main():
    preset, batch, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    steps = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4].isdigit() else 10
    threads = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5].isdigit() else 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    layers, heads, _ = PRESETS[preset]
    model = Gpt2(layers, heads, heads * 64, max(seq, PRESETS[preset][2]))
    opt = torch.optim.AdamW([m.scores for m in model.masked()], lr=1e-4, weight_decay=0)
    times = []
    for i in range(steps + 3):
        ids = torch.randint(0, VOCAB, (batch, seq + 1))
        t0 = time.perf_counter()
        for m in model.masked():
            m.update_mask()
        loss = F.cross_entropy(model(ids[:, :-1]).reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(f"pytorch {torch.__version__} {preset} {batch}x{seq} threads {threads}: step median {med:.3f}s "
          f"min {times[0]:.3f}s, {batch * seq / med:.0f} tokens/s")


if __name__ == "__main__":
    main()
