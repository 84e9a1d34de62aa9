"""Golden files for the stochastic regularizers with fixed random draws: Stochastic Depth, Swapout, Shake-Shake,
ShakeDrop and FractalNet's drop-path join, training (with the draws) and eval (the expectations).

The runtime draws its random numbers from Philox4x32-10 (Salmon et al., SC 2011) keyed by (seed, stream) with the
counter (block, step, word2, 0); this file computes the same function with Python integers, from the published
algorithm, so PyTorch sees exactly the numbers the layers use. Each layer's coefficients follow from those numbers
as its paper states; PyTorch computes forward values and, through autograd (or a custom Function where the
backward is deliberately not the forward's gradient: Shake-Shake, ShakeDrop), every input gradient.

Draw layout (Runtime/Backends/CounterRandom.cs, Runtime/Layers/Stochastic.cs, Runtime/Layers/FractalJoin.cs):
  uniform(bits) = (bits >> 8) * 2^-24
  uniform index i of (seed, stream, step) = lane i % 4 of philox((i // 4, step, 0, 0), (seed, stream))
  per-sample residuals: sample n uses the four lanes of philox((n, step, 0, 0), (seed, stream)) = u0..u3
  Swapout: unit i uses lane i % 4 of philox((i // 4, step, 0, 0)) for the identity mask, (i // 4, step, 1, 0) for the branch
  FractalJoin: step kind = uniform 0 and column = uniform 1 of stream 0xF4AC7A15; with k inputs, sample n's local
  draws are uniforms n(k+1) + i (input i survives when >= p) and n(k+1) + k (which input to keep if none did)
"""
import torch
import golden

MASK = 0xFFFFFFFF


def philox(counter, key):
    """Philox4x32-10: four 32-bit words from a 4-word counter and a 2-word key."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round in range(10):
        if round > 0:
            k0, k1 = (k0 + 0x9E3779B9) & MASK, (k1 + 0xBB67AE85) & MASK
        a, b = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (b >> 32) ^ c1 ^ k0, b & MASK, (a >> 32) ^ c3 ^ k1, a & MASK
    return c0, c1, c2, c3


def uniform(bits):
    return (bits >> 8) / 16777216.0


def uniform_at(seed, stream, step, index):
    return uniform(philox((index // 4, step, 0, 0), (seed, stream))[index % 4])


def per_sample(seed, stream, step, n):
    return [uniform(b) for b in philox((n, step, 0, 0), (seed, stream))]


def column(values, shape):
    """Per-sample scalars as a tensor that broadcasts over a sample's values."""
    return torch.tensor(values, dtype=torch.float32).reshape((shape[0],) + (1,) * (len(shape) - 1))


class ScaledBranch(torch.autograd.Function):
    """forward c·F, backward c′·dy (per sample): Shake-Shake's and ShakeDrop's 'different coefficient backward'."""

    @staticmethod
    def forward(ctx, branch, forward_scale, backward_scale):
        ctx.save_for_backward(backward_scale)
        return branch * forward_scale

    @staticmethod
    def backward(ctx, dy):
        (backward_scale,) = ctx.saved_tensors
        return dy * backward_scale, None, None


SEED, STREAM, STEP = 11, 5, 7
SHAPE = (8, 3, 2, 3)  # item length 18: not a multiple of 4, so vec4s straddle samples on GL


def inputs(g, count):
    xs = [torch.randn(SHAPE, generator=g, requires_grad=True) for _ in range(count)]
    return xs, torch.randn(SHAPE, generator=g)


def run(name, xs, dy, forward, attributes, keys):
    """Writes <name> with the inputs, dy, and y and every input gradient in training and eval mode."""
    tensors = {k: x for k, x in zip(keys, xs)}
    tensors["dy"] = dy
    for mode in ("train", "eval"):
        for x in xs:
            x.grad = None
        y = forward(xs, mode == "train")
        y.backward(dy)
        tensors[f"y_{mode}"] = y
        for k, x in zip(keys, xs):
            tensors[f"d{k}_{mode}"] = x.grad
    golden.write(name, tensors, dict(attributes, seed=SEED, stream=STREAM, step=STEP))


def stochastic_depth(g, p):
    """Huang et al. 2016: y = x + b·F(x), b ~ Bernoulli(1 − p) per sample (b = 1 when u0 ≥ p); eval y = x + (1 − p)·F(x)."""
    xs, dy = inputs(g, 2)
    b = [1.0 if per_sample(SEED, STREAM, STEP, n)[0] >= p else 0.0 for n in range(SHAPE[0])]
    assert 0 < sum(b) < SHAPE[0], "the draws keep some samples and drop others"

    def forward(xs, train):
        f, x = xs
        return x + (column(b, SHAPE) if train else (1 - p)) * f
    run("stochastic_depth", xs, dy, forward, {"p": p}, ["F", "x"])


def shake_shake(g):
    """Gastaldi 2017 (Shake-Shake-Image): y = x + α·F1 + (1 − α)·F2, backward with an independent β per sample
    (α = u0, β = u1); eval α = β = 0.5."""
    xs, dy = inputs(g, 3)
    draws = [per_sample(SEED, STREAM, STEP, n) for n in range(SHAPE[0])]
    alpha, beta = column([d[0] for d in draws], SHAPE), column([d[1] for d in draws], SHAPE)

    def forward(xs, train):
        f1, f2, x = xs
        if not train:
            return x + 0.5 * f1 + 0.5 * f2
        return x + ScaledBranch.apply(f1, alpha, beta) + ScaledBranch.apply(f2, 1 - alpha, 1 - beta)
    run("shake_shake", xs, dy, forward, {}, ["F1", "F2", "x"])


def shake_drop(g, p, alpha_range, beta_range):
    """Yamada et al. 2018: y = x + (b + α − b·α)·F(x), backward (b + β − b·β)·dy, b ~ Bernoulli(1 − p) (b = 1 when
    u0 ≥ p), α ~ U(alpha_range) from u1, β ~ U(beta_range) from u2; eval y = x + E[b + α − b·α]·F(x)."""
    xs, dy = inputs(g, 2)
    forward_scale, backward_scale = [], []
    for n in range(SHAPE[0]):
        u = per_sample(SEED, STREAM, STEP, n)
        b = 1.0 if u[0] >= p else 0.0
        a = alpha_range[0] + (alpha_range[1] - alpha_range[0]) * u[1]
        be = beta_range[0] + (beta_range[1] - beta_range[0]) * u[2]
        forward_scale.append(b + a - b * a)
        backward_scale.append(b + be - b * be)
    assert 0 < sum(1 for s in forward_scale if s == 1.0) < SHAPE[0]
    expected = (1 - p) + p * 0.5 * (alpha_range[0] + alpha_range[1])

    def forward(xs, train):
        f, x = xs
        if not train:
            return x + expected * f
        return x + ScaledBranch.apply(f, column(forward_scale, SHAPE), column(backward_scale, SHAPE))
    run("shake_drop", xs, dy, forward,
        {"p": p, "alphaLow": alpha_range[0], "alphaHigh": alpha_range[1], "betaLow": beta_range[0], "betaHigh": beta_range[1]},
        ["F", "x"])


def swapout(g, p1, p2):
    """Singh et al. 2016: y = θ1⊙x + θ2⊙F(x), per-unit θ1 ~ Bernoulli(1 − p1), θ2 ~ Bernoulli(1 − p2); eval
    y = (1 − p1)·x + (1 − p2)·F(x)."""
    xs, dy = inputs(g, 2)
    count = torch.Size(SHAPE).numel()
    masks = []
    for word in (0, 1):
        bits = [philox((i // 4, STEP, word, 0), (SEED, STREAM))[i % 4] for i in range(count)]
        masks.append(torch.tensor([1.0 if uniform(b) >= p else 0.0 for b, p in zip(bits, [(p1, p2)[word]] * count)]).reshape(SHAPE))
    theta1, theta2 = masks

    def forward(xs, train):
        f, x = xs
        return theta1 * x + theta2 * f if train else (1 - p1) * x + (1 - p2) * f
    run("swapout", xs, dy, forward, {"identityDropProbability": p1, "branchDropProbability": p2}, ["F", "x"])


GLOBAL_STREAM = 0xF4AC7A15


def fractal_join(g, name, columns, column_count, p, global_fraction, steps):
    """Larsson et al. 2016: a join is the mean of its surviving inputs. Global step (probability global_fraction): one
    column for the batch; a join keeps its input from it (all inputs if none comes from it). Local step: each sample
    drops each input with probability p, keeping one at random if none survived. Keys y_<step>, dx<i>_<step>, and
    y_eval, dx<i>_eval (the plain mean)."""
    k, n_samples = len(columns), 8
    shape = (n_samples, 2, 1, 3)
    xs = [torch.randn(shape, generator=g, requires_grad=True) for _ in range(k)]
    dy = torch.randn(shape, generator=g)
    tensors = {f"x{i}": x for i, x in enumerate(xs)}
    tensors["dy"] = dy
    kinds = []
    for step in steps + ["eval"]:
        if step == "eval":
            keep = [[True] * k for _ in range(n_samples)]
        elif uniform_at(SEED, GLOBAL_STREAM, step, 0) < global_fraction:
            c = min(column_count - 1, int(uniform_at(SEED, GLOBAL_STREAM, step, 1) * column_count))
            row = [col == c for col in columns] if c in columns else [True] * k
            keep = [row] * n_samples
            kinds.append(f"global column {c}")
        else:
            keep = []
            fallback = False
            for n in range(n_samples):
                row = [uniform_at(SEED, STREAM, step, n * (k + 1) + i) >= p for i in range(k)]
                if not any(row):
                    row[min(k - 1, int(uniform_at(SEED, STREAM, step, n * (k + 1) + k) * k))] = True
                    fallback = True
                keep.append(row)
            kinds.append("local, one sample kept by the fallback" if fallback else "local")
        for x in xs:
            x.grad = None
        weights = torch.tensor([[1.0 / sum(row) if kept else 0.0 for kept in row] for row in keep])  # (N, k)
        y = sum(weights[:, i].reshape(-1, 1, 1, 1) * x for i, x in enumerate(xs))
        y.backward(dy)
        tensors[f"y_{step}"] = y
        for i, x in enumerate(xs):
            tensors[f"dx{i}_{step}"] = x.grad
    golden.write(name, tensors, {"columns": columns, "columnCount": column_count, "localDropProbability": p,
                                 "globalFraction": global_fraction, "seed": SEED, "stream": STREAM, "steps": steps,
                                 "kinds": kinds})
    return kinds


def generate():
    g = golden.seeded(47)
    stochastic_depth(g, 0.3)
    shake_shake(g)
    shake_drop(g, 0.4, (-1.0, 1.0), (0.0, 1.0))
    swapout(g, 0.2, 0.4)
    steps = [0, 1, 2, 5, 9, 12]  # local steps 0, 2, 5 and global steps keeping columns 2, 1, 0 (seed 11)
    kinds = fractal_join(g, "fractal_drop_path", [0, 1, 2], 3, 0.5, 0.5, steps)
    assert {"global column 0", "global column 1", "global column 2"} <= set(kinds) and any("fallback" in s for s in kinds), kinds
    kinds = fractal_join(g, "fractal_drop_path_off_column", [1, 2], 3, 0.5, 0.5, steps)
    assert any(s == "global column 0" for s in kinds), kinds


if __name__ == "__main__":
    generate()
