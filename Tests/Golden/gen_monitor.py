"""Golden files of the training monitor (Runtime/Monitoring): the statistics of one SGD step, computed by PyTorch, for
each network of Tests/NeuroPlugin.Tests/Monitoring/MonitorGoldenTests.cs (MonitorGoldenChecks.Networks):

  monitor_sgd_step           the monitor's workload (MonitorWorkload.Graph()): conv1 3x3 (1->4) -> sigmoid1 -> pool1 ->
                             conv2 3x3 (4->6) -> relu2 -> flatten -> fc1 (96->16) -> tanh1 -> fc2 (16->3), seeded weights
                             with conv1's scaled so that sigmoid1 partly saturates and conv2.bias[0] = -50 so that relu2's
                             channel 0 is dead; a batch of 8 random 8x8 images.
  monitor_sgd_step_lenet5    the zoo's lenet5 (1x28x28, 10 classes); a batch of 8 random images.
  monitor_sgd_step_resnet20  the zoo's resnet_cifar (ResNet-20) for Fashion-MNIST-sized images (1x28x28, 10 classes) at a
                             quarter of the published width (WidthDivisor 4: 4, 8, 16 channels); a batch of 8. Batch norm
                             runs in training mode: it normalizes by the batch's mean and biased variance, as the runtime's
                             training step does, and its running statistics are buffers, neither optimized nor reported.

The network is not written here a second time: the C# test writes each graph as GraphJson to monitor_graphs/<golden>.json
(NEURO_UPDATE_GOLDEN_GRAPHS=1; a test fails while a committed graph is out of date) and this script builds the PyTorch
forward from it, node by node (OPS: the layer types these graphs use; any other type is an error naming the node),
keeping every node's output (retain_grad) under the node's name. Parameters are named and ordered as the runtime names
them (node.weight, node.bias, nodes in graph order). The workload's weights are stored ("init.<parameter>"); the zoo
networks' would not fit a small file, so both sides compute them with golden_initializer, bit for bit.

One torch.optim.SGD(lr) step on the mean cross-entropy of one-hot targets. Tensors: "input", "target" (one-hot),
"init.<parameter>" (the workload only), and one summary vector per watched tensor, under "weight.<p>", "grad.<p>",
"update.<p>" (after the step; update = after - before), "output.<node>" and "outgrad.<node>", laid out as SUMMARY below,
then BINS histogram counts (torch.histc over [min, max] of the tensor, widened to [v - 1, v + 1] when all values are
equal). "near_edge" counts elements within 1e-4 of a bin's interior edge (relative to a bin's width) and
"near_saturation" elements within 1e-5 of a saturation threshold: where float rounding of a different summation order may
move a value across, the C# test allows that many differences. Attributes: lr, bins, summary, loss, batch_accuracy,
graph (the GraphJson the golden was made for), parameters (their names in order).
"""
import json, math, os

import numpy as np
import torch
import torch.nn.functional as F

import golden

BINS = 16
LR = 0.5
SUMMARY = ["count", "min", "max", "mean", "std", "norm", "zeros", "saturated", "near_saturation", "near_edge", "dead"]
SATURATION = {"Sigmoid": (0.02, 0.98), "HardSigmoid": (0.02, 0.98), "Tanh": (-0.96, 0.96)}
GRAPHS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "monitor_graphs")
BATCH = 8


def _workload_parameters(g):
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


# golden -> (seed, stored weights drawn from the seeded generator before the images, or None: golden_initializer)
NETWORKS = {
    "monitor_sgd_step": (2024, _workload_parameters),
    "monitor_sgd_step_lenet5": (2025, None),
    "monitor_sgd_step_resnet20": (2026, None),
}


def golden_initializer(k, name, shape):
    """Parameter k's weights (MonitorGoldenTests.cs GoldenInitializer, bit for bit): element i is r*b with r in [-1, 1)
    from a 32-bit hash of (k, i), b = sqrt(6 / fan-in) for weights of rank >= 2, 0.1 for biases and batch norm's beta,
    and gamma = 1 + 0.25 r; computed in float64 (each step exact or correctly rounded), rounded once to float32."""
    mask = np.uint64(0xFFFFFFFF)
    n = int(np.prod(shape))
    u = (np.uint64(k) * np.uint64(0x9E3779B9) + np.arange(n, dtype=np.uint64) * np.uint64(0x85EBCA6B) + np.uint64(0x27D4EB2F)) & mask
    u ^= u >> np.uint64(15)
    u = (u * np.uint64(0x2C1B3C6D)) & mask
    u ^= u >> np.uint64(12)
    u = (u * np.uint64(0x297A2D39)) & mask
    u ^= u >> np.uint64(15)
    r = (u >> np.uint64(8)).astype(np.float64) * 2.0 ** -23 - 1.0
    if len(shape) == 1 and name.endswith(".weight"):
        values = 1.0 + 0.25 * r
    else:
        values = r * (math.sqrt(6.0 / (n // shape[0])) if len(shape) >= 2 else 0.1)
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def _window(node):
    """(kernel, stride, padding, dilation) of a windowed layer; PyTorch pads symmetrically, so must the graph."""
    a = node["attributes"]
    top, left, bottom, right = a["padding"]
    if (top, left) != (bottom, right):
        raise ValueError(f"{node['name']}: asymmetric padding {a['padding']} is not supported here")
    return tuple(a["kernelSize"]), tuple(a["stride"]), (top, left), tuple(a.get("dilation", [1, 1]))


def _conv(node, xs, p):
    kernel, stride, padding, dilation = _window(node)
    return F.conv2d(xs[0], p["weight"], p.get("bias"), stride, padding, dilation, node["attributes"].get("groups", 1))


def _max_pool(node, xs, p):
    kernel, stride, padding, dilation = _window(node)
    return F.max_pool2d(xs[0], kernel, stride, padding, dilation)


def _channel_pad(node, xs, p):
    return F.pad(xs[0], (0, 0, 0, 0, 0, node["attributes"]["outChannels"] - xs[0].shape[1]))


# layer type -> (forward(node, inputs, parameters), parameter shapes(attributes, input shape) in the runtime's order)
OPS = {
    "Conv2d": (_conv, lambda a, s: [("weight", [a["outChannels"], s[1] // a.get("groups", 1), *a["kernelSize"]])]
               + ([("bias", [a["outChannels"]])] if a.get("bias", True) else [])),
    "BatchNorm2d": (lambda n, xs, p: F.batch_norm(xs[0], None, None, p["weight"], p["bias"], training=True, eps=n["attributes"]["eps"]),
                    lambda a, s: [("weight", [s[1]]), ("bias", [s[1]])]),
    "Linear": (lambda n, xs, p: F.linear(xs[0], p["weight"], p.get("bias")),
               lambda a, s: [("weight", [a["outFeatures"], s[1]])] + ([("bias", [a["outFeatures"]])] if a.get("bias", True) else [])),
    "ReLU": (lambda n, xs, p: F.relu(xs[0]), None),
    "Sigmoid": (lambda n, xs, p: torch.sigmoid(xs[0]), None),
    "Tanh": (lambda n, xs, p: torch.tanh(xs[0]), None),
    "MaxPool2d": (_max_pool, None),
    "GlobalAvgPool2d": (lambda n, xs, p: xs[0].mean(dim=(2, 3), keepdim=True), None),
    "Flatten": (lambda n, xs, p: torch.flatten(xs[0], 1), None),
    "Add": (lambda n, xs, p: sum(xs[1:], xs[0]), None),
    "ChannelPad": (_channel_pad, None),
}


def _op(node):
    if node["type"] not in OPS:
        raise ValueError(f"{node['name']}: layer type {node['type']} has no PyTorch forward in gen_monitor.OPS")
    return OPS[node["type"]]


def parameter_shapes(graph, batch):
    """The runtime's parameters in order, {name: shape}, found by running the graph's shapes through zero inputs."""
    shapes = {}
    _forward(graph, {i["name"]: torch.zeros(batch, *i["shape"]) for i in graph["inputs"]}, None, shapes)
    return shapes


def _forward(graph, inputs, parameters, shapes=None):
    """The graph's output and every node output in graph order (name, tensor, node); with shapes given, records the
    parameter shapes and runs on zeros instead of parameters."""
    values = dict(inputs)
    outputs = []
    for node in graph["nodes"]:
        forward, parameter_list = _op(node)
        xs = [values[name] for name in node["inputs"]]
        p = {}
        for local, shape in (parameter_list(node["attributes"], list(xs[0].shape)) if parameter_list else []):
            full = f"{node['name']}.{local}"
            if shapes is not None:
                shapes[full] = shape
                p[local] = torch.ones(shape)
            else:
                p[local] = parameters[full]
        y = forward(node, xs, p)
        if shapes is None:
            y.retain_grad()
        values[node["name"]] = y
        outputs.append((node["name"], y, node))
    return values[graph["output"]], outputs


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


def sgd_step(name, seed, stored_parameters):
    with open(os.path.join(GRAPHS, name + ".json")) as f:
        graph = json.load(f)
    g = golden.seeded(seed)
    shapes = parameter_shapes(graph, BATCH)
    if stored_parameters is not None:
        init = stored_parameters(g)
        if {k: list(v.shape) for k, v in init.items()} != shapes:
            raise ValueError(f"{name}: the stored parameters do not fit the graph's {shapes}")
    else:
        init = {p: golden_initializer(k, p, shape) for k, (p, shape) in enumerate(shapes.items())}
    (graph_input,) = graph["inputs"]
    x = torch.rand(BATCH, *graph_input["shape"], generator=g)
    classes = _forward(graph, {graph_input["name"]: x}, None, {})[0].shape[1]
    labels = torch.randint(0, classes, (BATCH,), generator=g)
    target = F.one_hot(labels, classes).float()

    p = {key: value.clone().requires_grad_(True) for key, value in init.items()}
    optimizer = torch.optim.SGD(list(p.values()), lr=LR)
    logits, outputs = _forward(graph, {graph_input["name"]: x}, p)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    accuracy = float((logits.argmax(dim=1) == labels).float().mean())
    optimizer.step()

    tensors = {"input": x, "target": target}
    for key, value in init.items():
        if stored_parameters is not None:
            tensors["init." + key] = value
        tensors["weight." + key] = _summary(p[key])
        tensors["grad." + key] = _summary(p[key].grad)
        tensors["update." + key] = _summary(p[key].detach() - value)
    for node_name, value, node in outputs:
        tensors["output." + node_name] = _summary(value, SATURATION.get(node["type"]), dead_channels=True)
        tensors["outgrad." + node_name] = _summary(value.grad)
    golden.write(name, tensors, {"lr": LR, "bins": BINS, "summary": SUMMARY, "loss": float(loss), "batch_accuracy": accuracy,
                                 "graph": graph, "parameters": list(init)})


def generate():
    for name, (seed, stored_parameters) in NETWORKS.items():
        sgd_step(name, seed, stored_parameters)
