"""Golden files of the optimizers (Runtime/Optimizers): 5-step trajectories of every torch.optim rule on a
small parameter set, learning-rate schedules, gradient clipping and L1/L2 regularization.

The parameters are a linear layer's 'fc.weight' (3,4) and 'fc.bias' (4); each step's gradient is fixed
(grad_weight (5,3,4), grad_bias (5,4)), so a trajectory depends on the update rule alone. fc.weight[0,0]
is exactly 0 so that L1's sign(0) = 0 is exercised. Tests: Tests/NeuroPlugin.Tests/Toolkit/Optimizer*.cs.
"""
import math

import torch

import golden

STEPS = 5


def _problem():
    g = golden.seeded(71)
    weight = torch.rand(3, 4, generator=g) * 2 - 1
    weight[0, 0] = 0.0
    bias = torch.rand(4, generator=g) * 2 - 1
    grad_weight = torch.randn(STEPS, 3, 4, generator=g)
    grad_bias = torch.randn(STEPS, 4, generator=g)
    return weight, bias, grad_weight, grad_bias


def _trajectory(make_optimizer, weight, bias, grad_weight, grad_bias, before_step=None, lr_factors=None):
    """Runs STEPS updates; returns the weight (STEPS,3,4) and bias (STEPS,4) after each step, and what
    before_step(params, step) returned at each step (the penalty, the gradient norm)."""
    w = weight.clone().requires_grad_(True)
    b = bias.clone().requires_grad_(True)
    optimizer = make_optimizer([w, b])
    base = optimizer.param_groups[0]["lr"]
    weights, biases, extras = [], [], []
    for t in range(STEPS):
        if lr_factors is not None:
            optimizer.param_groups[0]["lr"] = base * lr_factors[t]
        w.grad = grad_weight[t].clone()
        b.grad = grad_bias[t].clone()
        if before_step is not None:
            extras.append(before_step(w, b))
        optimizer.step()
        weights.append(w.detach().clone())
        biases.append(b.detach().clone())
    return torch.stack(weights), torch.stack(biases), extras


# Each file: one update rule; each variant: the hyper-parameters handed to torch.optim (the C# test builds the
# same optimizer from these attributes). Variants with weight_decay check the coupled (L2 in the gradient)
# or, for AdamW, decoupled decay.
RULES = {
    "sgd": (torch.optim.SGD, {"plain": {"lr": 0.1}, "weight_decay": {"lr": 0.1, "weight_decay": 0.1}}),
    "momentum": (torch.optim.SGD, {"plain": {"lr": 0.1, "momentum": 0.9},
                                   "weight_decay": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}}),
    "nesterov": (torch.optim.SGD, {"plain": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
                                   "weight_decay": {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}}),
    "adagrad": (torch.optim.Adagrad, {"plain": {"lr": 0.1}, "weight_decay": {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6}}),
    "rmsprop": (torch.optim.RMSprop, {"plain": {"lr": 0.01}, "weight_decay": {"lr": 0.01, "weight_decay": 0.1, "alpha": 0.9},
                                      "momentum": {"lr": 0.01, "momentum": 0.5}}),
    "adam": (torch.optim.Adam, {"plain": {"lr": 0.01}, "weight_decay": {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)}}),
    "adamw": (torch.optim.AdamW, {"plain": {"lr": 0.01}, "weight_decay": {"lr": 0.01, "weight_decay": 0.5, "eps": 1e-6}}),
}


def _hyper(settings):
    out = dict(settings)
    if "betas" in out:
        out["beta1"], out["beta2"] = out.pop("betas")
    return out


def _rules(weight, bias, grad_weight, grad_bias):
    for name, (cls, variants) in RULES.items():
        tensors = {"weight": weight, "bias": bias, "grad_weight": grad_weight, "grad_bias": grad_bias}
        attributes = {"steps": STEPS, "variants": {}}
        for variant, settings in variants.items():
            w, b, _ = _trajectory(lambda p: cls(p, **settings), weight, bias, grad_weight, grad_bias)
            tensors[f"{variant}.weight"] = w
            tensors[f"{variant}.bias"] = b
            attributes["variants"][variant] = _hyper(settings)
        golden.write(f"optimizer_{name}", tensors, attributes)


def _lr_trace(make_scheduler, steps):
    """The learning-rate factor PyTorch's scheduler gives each of `steps` optimizer steps (base rate 1)."""
    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=1.0)
    scheduler = make_scheduler(optimizer)
    factors = []
    for _ in range(steps):
        factors.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return torch.tensor(factors, dtype=torch.float64)


def _schedules(weight, bias, grad_weight, grad_bias):
    from torch.optim import lr_scheduler as S
    total, warmup = 12, 3

    def warm(inner):
        # linear warm-up (t+1)/W over the first W steps, then `inner` counted from 0 over the remaining steps
        return lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1),
                                            inner(o)], milestones=[warmup])

    traces = {
        "step": _lr_trace(lambda o: S.StepLR(o, step_size=4, gamma=0.5), total),
        "exponential": _lr_trace(lambda o: S.ExponentialLR(o, gamma=0.8), total),
        "cosine": _lr_trace(lambda o: S.CosineAnnealingLR(o, T_max=total), total),
        "warmup_cosine": _lr_trace(warm(lambda o: S.CosineAnnealingLR(o, T_max=total - warmup)), total),
        "warmup_step": _lr_trace(warm(lambda o: S.StepLR(o, step_size=4, gamma=0.5)), total),
    }
    # Adam under warm-up + cosine over the 5 steps (the Trainer sets lr = base·factor before each step)
    factors = _lr_trace(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=1 / 2, end_factor=1.0, total_iters=1),
                                                     S.CosineAnnealingLR(o, T_max=STEPS - 2)], milestones=[2]), STEPS)
    w, b, _ = _trajectory(lambda p: torch.optim.Adam(p, lr=0.05), weight, bias, grad_weight, grad_bias, lr_factors=factors.tolist())
    tensors = {f"factor.{k}": v for k, v in traces.items()}
    tensors.update({"weight": weight, "bias": bias, "grad_weight": grad_weight, "grad_bias": grad_bias,
                    "adam.factor": factors, "adam.weight": w, "adam.bias": b})
    golden.write("optimizer_schedules", tensors, {
        "total": total, "warmup": warmup, "step_size": 4, "step_gamma": 0.5, "exponential_gamma": 0.8,
        "adam": {"lr": 0.05, "warmup": 2, "total": STEPS}})


def _clipping(weight, bias, grad_weight, grad_bias):
    """SGD with momentum after clip_grad_norm_: max_norm 4 clips steps 2, 3, 4 (norms 4.1–4.3), not 0 and 1 (3.7–3.9)."""
    tensors = {"weight": weight, "bias": bias, "grad_weight": grad_weight, "grad_bias": grad_bias}
    for variant, max_norm in (("clip", 4.0), ("loose", 100.0)):
        def clip(w, b):
            norm = torch.nn.utils.clip_grad_norm_([w, b], max_norm)
            return norm.detach().clone()
        w, b, norms = _trajectory(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), weight, bias, grad_weight, grad_bias, before_step=clip)
        tensors[f"{variant}.weight"] = w
        tensors[f"{variant}.bias"] = b
        tensors[f"{variant}.norm"] = torch.stack(norms)
    golden.write("optimizer_clipping", tensors, {"lr": 0.1, "momentum": 0.9, "clip": 4.0, "loose": 100.0})


def _regularization(weight, bias, grad_weight, grad_bias):
    """The course's penalty (1/p)·λ·‖w‖_p^p on the weights only: λ₁·Σ|w| + (λ₂/2)·Σw², its gradient
    λ₁·sign(w) + λ₂·w added by autograd to the data gradient, then Adam (so that sign(w) flips show)."""
    l1, l2 = 0.05, 0.2

    def penalty_of(w):
        return l1 * w.abs().sum() + l2 / 2 * (w * w).sum()

    w0 = weight.clone().requires_grad_(True)
    penalty_of(w0).backward()
    tensors = {"weight": weight, "bias": bias, "grad_weight": grad_weight, "grad_bias": grad_bias,
               "penalty_grad_weight": w0.grad}

    def add_penalty(w, b):
        w.grad = None
        p = penalty_of(w)
        p.backward()
        return p.detach().clone()

    # add_penalty replaced w.grad by the penalty's gradient: put the data gradient back on top of it
    def step_with_penalty(w, b):
        data = w.grad.clone()
        penalty = add_penalty(w, b)
        w.grad += data
        return penalty

    w, b, penalties = _trajectory(lambda p: torch.optim.Adam(p, lr=0.05), weight, bias, grad_weight, grad_bias, before_step=step_with_penalty)
    tensors.update({"adam.weight": w, "adam.bias": b, "adam.penalty": torch.stack(penalties)})
    golden.write("optimizer_regularization", tensors, {"l1": l1, "l2": l2, "lr": 0.05})


def generate():
    problem = _problem()
    _rules(*problem)
    _schedules(*problem)
    _clipping(*problem)
    _regularization(*problem)
