"""Golden file of the training monitor (Runtime/Monitoring): the statistics of one SGD step of a small network, computed
by PyTorch. The network is Tests/NeuroPlugin.Tests/Monitoring/MonitorWorkload.Graph():

  conv1 3x3 (1->4, padding 1) -> sigmoid1 -> pool1 (max 2x2) -> conv2 3x3 (4->6, padding 1) -> relu2 -> flatten
  -> fc1 (96->16) -> tanh1 -> fc2 (16->3)

with seeded weights (conv1's scaled so that sigmoid1 partly saturates, conv2.bias[0] = -50 so that relu2's channel 0 is
dead), a batch of 8 random 8x8 images and one-hot targets; one torch.optim.SGD(lr) step on the mean cross-entropy.

Tensors: "input" (8,1,8,8), "target" (8,3), "init.<parameter>" (the weights before the step), and one summary vector per
watched tensor, under "weight.<p>", "grad.<p>", "update.<p>" (after the step; update = after - before), "output.<node>"
and "outgrad.<node>" (retain_grad on every node output), laid out as SUMMARY below, then BINS histogram counts
(torch.histc over [min, max] of the tensor, widened to [v - 1, v + 1] when all values are equal). "near_edge" counts
elements within 1e-4 of a bin's interior edge (relative to a bin's width) and "near_saturation" elements within 1e-5 of
a saturation threshold: where float rounding of a different summation order may move a value across, the C# test allows
that many differences. Attributes: lr, bins, loss, batch_accuracy. Test: Monitoring/MonitorGoldenTests.cs.
"""
import torch
import torch.nn.functional as F

import golden

BINS = 16
LR = 0.5
SUMMARY = ["count", "min", "max", "mean", "std", "norm", "zeros", "saturated", "near_saturation", "near_edge", "dead"]
SATURATION = {"sigmoid1": (0.02, 0.98), "tanh1": (-0.96, 0.96)}


def _parameters(g):
    p = {
        "conv1.weight": torch.randn(4, 1, 3, 3, generator=g) * 2.0,
        "conv1.bias": torch.randn(4, generator=g) * 0.1,
        "conv2.weight": torch.randn(6, 4, 3, 3, generator=g) * 0.3,
        "conv2.bias": torch.randn(6, generator=g) * 0.1,
        "fc1.weight": torch.randn(16, 96, generator=g) * 0.15,
        "fc1.bias": torch.zeros(16),
        "fc2.weight": torch.randn(3, 16, generator=g) * 0.3,
        "fc2.bias": torch.randn(3, generator=g) * 0.1,
    }
    p["conv2.bias"][0] = -50.0
    return p


def _forward(x, p):
    """The network; returns the logits and every node output in graph order (name, tensor)."""
    outputs = []

    def node(name, value):
        value.retain_grad()
        outputs.append((name, value))
        return value

    y = node("conv1", F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1))
    y = node("sigmoid1", torch.sigmoid(y))
    y = node("pool1", F.max_pool2d(y, 2))
    y = node("conv2", F.conv2d(y, p["conv2.weight"], p["conv2.bias"], padding=1))
    y = node("relu2", F.relu(y))
    y = node("flatten", torch.flatten(y, 1))
    y = node("fc1", F.linear(y, p["fc1.weight"], p["fc1.bias"]))
    y = node("tanh1", torch.tanh(y))
    y = node("fc2", F.linear(y, p["fc2.weight"], p["fc2.bias"]))
    return y, outputs


def _summary(t, saturation=None, dead_channels=False):
    t = t.detach().float()
    flat = t.reshape(-1)
    lo, hi = flat.min(), flat.max()
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    histogram = torch.histc(flat, bins=BINS, min=float(lo), max=float(hi))
    position = (flat.double() - float(lo)) / (float(hi) - float(lo)) * BINS
    nearest = position.round()
    near_edge = ((nearest > 0) & (nearest < BINS) & ((position - nearest).abs() < 1e-4)).sum()
    wide = flat.double()
    if saturation is None:
        saturated = near_saturation = 0
    else:
        low, high = saturation
        saturated = int(((flat <= low) | (flat >= high)).sum())
        near_saturation = int(((wide - low).abs() < 1e-5).sum() + ((wide - high).abs() < 1e-5).sum())
    dead = 0
    if dead_channels:
        per_channel = t.transpose(0, 1).reshape(t.shape[1], -1)
        dead = int((per_channel == 0).all(dim=1).sum())
    values = [flat.numel(), float(flat.min()), float(flat.max()), float(wide.mean()), float(wide.std(unbiased=False)),
              float(wide.norm()), int((flat == 0).sum()), saturated, near_saturation, int(near_edge), dead]
    return torch.tensor(values + histogram.tolist(), dtype=torch.float64)


def generate():
    g = golden.seeded(2024)
    init = _parameters(g)
    x = torch.rand(8, 1, 8, 8, generator=g)
    labels = torch.randint(0, 3, (8,), generator=g)
    target = F.one_hot(labels, 3).float()

    p = {name: value.clone().requires_grad_(True) for name, value in init.items()}
    optimizer = torch.optim.SGD(list(p.values()), lr=LR)
    logits, outputs = _forward(x, p)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    accuracy = float((logits.argmax(dim=1) == labels).float().mean())
    optimizer.step()

    tensors = {"input": x, "target": target}
    for name, value in init.items():
        tensors["init." + name] = value
        tensors["weight." + name] = _summary(p[name])
        tensors["grad." + name] = _summary(p[name].grad)
        tensors["update." + name] = _summary(p[name].detach() - value)
    for name, value in outputs:
        tensors["output." + name] = _summary(value, SATURATION.get(name), dead_channels=True)
        tensors["outgrad." + name] = _summary(value.grad)
    golden.write("monitor_sgd_step", tensors, {"lr": LR, "bins": BINS, "summary": SUMMARY, "loss": float(loss), "batch_accuracy": accuracy})
