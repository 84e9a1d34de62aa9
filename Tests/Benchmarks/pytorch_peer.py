"""The PyTorch peer of neuro-bench (Tests/Benchmarks): a long-lived process that builds each network once and times it
on request, so that the benchmark can interleave PyTorch's measurements with its own in one run without paying
Python's start-up for each. Run with /usr/bin/python3 (Debian's python3-torch 1.13).

One request per line on stdin, a JSON object: {"model": "lenet5" | "resnet_cifar" | "resnet18" | "mobilenet_v2",
"mode": "train" | "infer", "batch": N, "threads": T, "seconds": S}. The answer is one JSON line: the seconds of every
timed iteration ("times"), after a warm-up of the same length. Training: one SGD step (lr 0.01) on cross-entropy of
random images with random labels; inference: eval mode, no_grad, one forward of a random batch and the copy of its
logits out. The networks are the zoo's: LeNet-5 as `neuro` builds it, ResNet-20 from Tests/Interop, ResNet-18 and
MobileNet v2 from torchvision (1000 classes, 224×224)."""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop"))
from pytorch_resnet_cifar import ResNet20  # noqa: E402  (after the path)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


NETWORKS = {
    "lenet5": (lenet5, (1, 28, 28), 10),
    "resnet_cifar": (lambda: ResNet20(channels=3), (3, 32, 32), 10),
    "resnet18": (lambda: torchvision.models.resnet18(), (3, 224, 224), 1000),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), (3, 224, 224), 1000),
}
built = {}


def network(name):
    if name not in built:
        torch.manual_seed(1)
        build, shape, classes = NETWORKS[name]
        built[name] = (build(), shape, classes)
    return built[name]


def timed(step, seconds):
    """Runs step for `seconds` of warm-up, then for `seconds` more, timing each call."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        begin = time.perf_counter()
        step()
        times.append(time.perf_counter() - begin)
    return times


def measure(request):
    model, shape, classes = network(request["model"])
    batch = request["batch"]
    torch.set_num_threads(request["threads"])
    x = torch.rand(batch, *shape) * 2 - 1
    if request["mode"] == "train":
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        labels = torch.randint(0, classes, (batch,))

        def step():
            optimizer.zero_grad()
            F.cross_entropy(model(x), labels).backward()
            optimizer.step()
        return timed(step, request["seconds"])
    model.eval()
    with torch.no_grad():
        return timed(lambda: model(x).numpy(), request["seconds"])


print(json.dumps({"ready": True, "version": torch.__version__}), flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    print(json.dumps({"times": measure(json.loads(line))}), flush=True)
