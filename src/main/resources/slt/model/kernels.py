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
  def head_loss(self: __torch__.Kernels, x: Tensor, w: Tensor, targets: Tensor, logit_scale: float, grad_scale: float, rows: int, dtype: int, weight_grad: bool) -> Tuple[Tensor, Tensor, Tensor]:
    x = torch.detach(x)
    w = torch.detach(w)
    n = torch.size(x, 0)
    w16 = torch.to(w, dtype)
    nll = torch.zeros([1], dtype=6, device=x.device)
    dx = torch.empty_like(x)
    dw = torch.zeros_like(w) if weight_grad else torch.zeros([0], dtype=6, device=x.device)
    for start in range(0, n, rows):
      end = min(start + rows, n)
      xs = torch.slice(x, 0, start, end)
      if logit_scale != 1.:
        xs = torch.mul(xs, logit_scale)
      xs = torch.to(xs, dtype)
      t = torch.unsqueeze(torch.slice(targets, 0, start, end), 1)
      g = torch.log_softmax(torch.to(torch.mm(xs, torch.t(w16)), 6), 1)
      nll = torch.sub(nll, torch.sum(torch.gather(g, 1, t)))
      g = torch.exp_(g)
      g = torch.scatter_(g, 1, t, torch.sub(torch.gather(g, 1, t), 1.))
      if dtype == 6:
        torch.copy_(torch.slice(dx, 0, start, end), torch.mul(torch.mm(g, w), grad_scale * logit_scale))
        if weight_grad:
          torch.addmm_(dw, torch.t(g), xs, beta=1, alpha=grad_scale)
      else:
        g = torch.to(torch.mul_(g, grad_scale), dtype)
        torch.copy_(torch.slice(dx, 0, start, end), torch.mul(torch.to(torch.mm(g, w16), 6), logit_scale))
        if weight_grad:
          torch.add_(dw, torch.to(torch.mm(torch.t(g), xs), 6))
    return (torch.squeeze(nll), dx, dw)
