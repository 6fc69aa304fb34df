class Kernels(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def forward(self: __torch__.Kernels, x: Tensor) -> Tensor:
    return x
  def gelu_tanh(self: __torch__.Kernels, x: Tensor) -> Tensor:
    return torch.gelu(x, approximate="tanh")
  def causal_attention(self: __torch__.Kernels, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return torch.scaled_dot_product_attention(q, k, v, None, 0., True)
  def linear_bf16(self: __torch__.Kernels, x: Tensor, w: Tensor) -> Tensor:
    return torch.to(torch.linear(torch.to(x, 15), torch.to(w, 15)), 6)
  def linear_fp16(self: __torch__.Kernels, x: Tensor, w: Tensor) -> Tensor:
    return torch.to(torch.linear(torch.to(x, 5), torch.to(w, 5)), 6)
  def causal_attention_bf16(self: __torch__.Kernels, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return torch.to(torch.scaled_dot_product_attention(torch.to(q, 15), torch.to(k, 15), torch.to(v, 15), None, 0., True), 6)
  def causal_attention_fp16(self: __torch__.Kernels, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return torch.to(torch.scaled_dot_product_attention(torch.to(q, 5), torch.to(k, 5), torch.to(v, 5), None, 0., True), 6)
  def adamw(self: __torch__.Kernels, params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor], lr: float, beta1: float, beta2: float, weight_decay: float, eps: float) -> NoneType:
    torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, annotate(List[Tensor], []), steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
    return None
  def head_loss(self: __torch__.Kernels, x: Tensor, w: Tensor, targets: Tensor, logit_scale: float, grad_scale: float, rows: int, dtype: int, weight_grad: bool, z: Tensor, dw: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    x = torch.detach(x)
    w = torch.detach(w)
    n = torch.size(x, 0)
    vocab = torch.size(w, 0)
    w16 = torch.to(w, dtype)
    nll = torch.zeros([1], dtype=6, device=x.device)
    dx = torch.empty_like(x)
    if weight_grad:
      dw = torch.zero_(dw)
    for start in range(0, n, rows):
      end = min(start + rows, n)
      xs = torch.slice(x, 0, start, end)
      if logit_scale != 1.:
        xs = torch.mul(xs, logit_scale)
      xs = torch.to(xs, dtype)
      t = torch.unsqueeze(torch.slice(targets, 0, start, end), 1)
      g = torch.view(torch.slice(z, 0, 0, (end - start) * vocab), [end - start, vocab])
      if dtype == 6:
        g = torch.mm(xs, torch.t(w16), out=g)
      else:
        g = torch.copy_(g, torch.mm(xs, torch.t(w16)))
      g = torch._log_softmax(g, 1, False, out=g)
      nll = torch.sub(nll, torch.sum(torch.gather(g, 1, t)))
      g = torch.exp_(g)
      g = torch.scatter_(g, 1, t, torch.sub(torch.gather(g, 1, t), 1.))
      if dtype == 6:
        torch.copy_(torch.slice(dx, 0, start, end), torch.mul(torch.mm(g, w), grad_scale * logit_scale))
        if weight_grad:
          torch.addmm_(dw, torch.t(g), xs, beta=1, alpha=grad_scale)
      else:
        g16 = torch.to(torch.mul_(g, grad_scale), dtype)
        torch.copy_(torch.slice(dx, 0, start, end), torch.mul(torch.to(torch.mm(g16, w16), 6), logit_scale))
        if weight_grad:
          torch.add_(dw, torch.to(torch.mm(torch.t(g16), xs), 6))
    return (torch.squeeze(nll), dx, dw)
  def top_masks(self: __torch__.Kernels, values: List[Tensor], k: int, may_wait: bool, work: Tensor) -> Tuple[List[Tensor], Tensor, Tensor, Tensor]:
    dev = ops.prim.device(values[0])
    total = 0
    for i in range(torch.len(values)):
      total = total + torch.numel(values[i])
    bits = annotate(List[Tensor], [])
    his = annotate(List[Tensor], [])
    at = 0
    for i in range(torch.len(values)):
      v = torch.flatten(values[i])
      n = torch.numel(v)
      x = torch.bitwise_and(torch.set_(torch.empty([0], dtype=3, layout=None, device=dev), v, 0, [n], [1]), 2147483647, out=torch.slice(work, 0, at, at + n))
      _0 = torch.append(bits, x)
      _1 = torch.append(his, torch.bitwise_right_shift(x, 16, out=torch.slice(work, 0, total + at, total + at + n)))
      at = at + n
    one = torch.ones([1], dtype=4, layout=None, device=dev)
    h1 = torch.zeros([32768], dtype=4, layout=None, device=dev)
    for i in range(torch.len(his)):
      if may_wait:
        h1 = torch.add_(h1, torch.bincount(his[i], None, 32768))
      else:
        h1 = torch.index_add_(h1, 0, his[i], torch.expand(one, [torch.numel(his[i])]))
    c1 = torch.cumsum(torch.flip(h1, [0]), 0)
    kk = torch.full([1], k, dtype=4, layout=None, device=dev)
    j1 = torch.searchsorted(c1, kk)
    b = torch.to(torch.add(torch.neg(j1), 32767), 3)
    above = torch.sub(torch.index_select(c1, 0, j1), torch.index_select(h1, 0, b))
    h2 = torch.zeros([65537], dtype=4, layout=None, device=dev)
    for i in range(torch.len(bits)):
      if may_wait:
        low = torch.bitwise_and(torch.index(bits[i], annotate(List[Optional[Tensor]], [torch.eq(his[i], b)])), 65535)
        h2 = torch.add_(h2, torch.bincount(low, None, 65537))
      else:
        low = torch.where(torch.eq(his[i], b), torch.bitwise_and(bits[i], 65535), 65536)
        h2 = torch.index_add_(h2, 0, low, torch.expand(one, [torch.numel(low)]))
    h2 = torch.slice(h2, 0, 0, 65536)
    c2 = torch.cumsum(torch.flip(h2, [0]), 0)
    j2 = torch.searchsorted(c2, torch.sub(kk, above))
    lowest = torch.add(torch.neg(j2), 65535)
    t = torch.to(torch.add(torch.mul(b, 65536), lowest), 3)
    kept = torch.add(above, torch.index_select(c2, 0, j2))
    greater = torch.sub(kept, torch.index_select(h2, 0, lowest))
    masks = annotate(List[Tensor], [])
    for i in range(torch.len(bits)):
      _2 = torch.append(masks, torch.view(torch.ge(bits[i], t), torch.size(values[i])))
    return (masks, torch.reshape(t, annotate(List[int], [])), torch.reshape(kept, annotate(List[int], [])), torch.reshape(greater, annotate(List[int], [])))
  def tie_masks(self: __torch__.Kernels, values: List[Tensor], masks: List[Tensor], t: Tensor, k: int, greater: Tensor, may_wait: bool, work: Tensor) -> List[Tensor]:
    need = torch.add(torch.neg(greater), k)
    out = annotate(List[Tensor], [])
    for i in range(torch.len(values)):
      v = torch.flatten(values[i])
      n = torch.numel(v)
      x = torch.bitwise_and(torch.set_(torch.empty([0], dtype=3, layout=None, device=ops.prim.device(v)), v, 0, [n], [1]), 2147483647, out=torch.slice(work, 0, 0, n))
      eq = torch.eq(x, t)
      mask = torch.flatten(masks[i])
      if may_wait:
        at = torch.flatten(torch.nonzero(eq))
        first = min(max(int(need), 0), torch.numel(at))
        _0 = torch.index_put_(mask, annotate(List[Optional[Tensor]], [torch.slice(at, 0, first)]), torch.zeros([1], dtype=11, layout=None, device=ops.prim.device(mask)))
        need = torch.sub(need, torch.numel(at))
      else:
        mask = torch.logical_and(mask, torch.logical_not(torch.logical_and(eq, torch.gt(torch.cumsum(eq, 0), need))))
        need = torch.sub(need, torch.sum(eq))
      _1 = torch.append(out, torch.view(mask, torch.size(values[i])))
    return out
  def masked_weight(self: __torch__.Kernels, w: Tensor, m: Tensor, scale: float, out: Tensor, chunk: int) -> Tensor:
    wf = torch.flatten(w)
    mf = torch.flatten(m)
    of = torch.flatten(out)
    n = torch.numel(wf)
    for start in range(0, n, chunk):
      end = min(start + chunk, n)
      o = torch.mul(torch.slice(wf, 0, start, end), torch.slice(mf, 0, start, end), out=torch.slice(of, 0, start, end))
      if scale != 1.:
        o = torch.mul_(o, scale)
    return out
  def straight_through_(self: __torch__.Kernels, g: Tensor, w: Tensor, s: Tensor, scale: float, chunk: int) -> Tensor:
    gf = torch.flatten(g)
    wf = torch.flatten(w)
    sf = torch.flatten(s)
    n = torch.numel(gf)
    for start in range(0, n, chunk):
      end = min(start + chunk, n)
      o = torch.slice(gf, 0, start, end)
      if scale != 1.:
        o = torch.mul_(o, scale)
      o = torch.mul_(torch.mul_(o, torch.slice(wf, 0, start, end)), torch.sign(torch.slice(sf, 0, start, end)))
    return g
