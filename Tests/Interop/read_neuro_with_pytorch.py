"""Reads a .neuro model file with nothing but Python's standard library and PyTorch, the way any
safetensors reader does, loads the weights into the same network written in PyTorch (LeNet-5, or the CIFAR-style
ResNet-20 of `--model resnet_cifar`) by their state-dict names and reports its Fashion-MNIST test accuracy — which
equals what `neuro train` reported for the same file: an independent check of that figure.

  /usr/bin/python3 Tests/Interop/read_neuro_with_pytorch.py out/lenet5/model.neuro

Layout (safetensors): u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
"__metadata__" (format, version, kind, graph JSON), then the raw little-endian tensor bytes.

A training checkpoint (kind "checkpoint", `neuro train --checkpoint`) also holds the optimizer state as
"optimizer.state.<parameter>.<key>" tensors and the run's counters as "training" JSON; the script then also loads
that state into the matching torch.optim optimizer with its own load_state_dict.
"""
import gzip, json, struct, sys

import numpy as np
import torch
import torch.nn as nn

from pytorch_lenet5 import LeNet5
from pytorch_resnet_cifar import ResNet20


def read_neuro(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_length])
    metadata = header.pop("__metadata__")
    body = memoryview(data)[8 + header_length:]
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", entry
        begin, end = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.float32).reshape(entry["shape"])
    return metadata, tensors


def load_optimizer(model, training, state):
    """Rebuilds the run's torch.optim optimizer and loads the checkpoint's state into it (PyTorch's own keys)."""
    settings = training["optimizer"]
    kind, lr = settings["type"], training["trainer"]["learningRate"]
    params = list(model.named_parameters())
    optimizer = {
        "sgd": lambda p: torch.optim.SGD(p, lr, momentum=settings.get("momentum", 0), weight_decay=settings["weightDecay"]),
        "momentum": lambda p: torch.optim.SGD(p, lr, momentum=settings["momentum"], weight_decay=settings["weightDecay"]),
        "nesterov": lambda p: torch.optim.SGD(p, lr, momentum=settings["momentum"], weight_decay=settings["weightDecay"], nesterov=True),
        "adagrad": lambda p: torch.optim.Adagrad(p, lr, eps=settings["epsilon"], weight_decay=settings["weightDecay"]),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr, alpha=settings["alpha"], eps=settings["epsilon"], weight_decay=settings["weightDecay"], momentum=settings["momentum"]),
        "adam": lambda p: torch.optim.Adam(p, lr, betas=(settings["beta1"], settings["beta2"]), eps=settings["epsilon"], weight_decay=settings["weightDecay"]),
        "adamw": lambda p: torch.optim.AdamW(p, lr, betas=(settings["beta1"], settings["beta2"]), eps=settings["epsilon"], weight_decay=settings["weightDecay"]),
    }[kind]([p for _, p in params])
    steps = settings["stepCount"]
    per_parameter = {}
    if state:
        for i, (name, _) in enumerate(params):
            entry = {key: state[f"{name}.{key}"] for key in settings["stateKeys"]}
            if kind in ("adam", "adamw", "adagrad", "rmsprop"):
                entry["step"] = torch.tensor(float(steps))
            per_parameter[i] = entry
    target = optimizer.state_dict()
    target["state"] = per_parameter
    optimizer.load_state_dict(target)
    trainer = training["trainer"]
    print(f"checkpoint: step {trainer['step']} (epoch {trainer['epoch'] + 1}, batch {trainer['batchInEpoch']}), "
          f"{type(optimizer).__name__} with state {settings['stateKeys']} for {len(optimizer.state)} parameters, "
          f"t = {steps}, lr {lr:g} ({trainer['schedule']})")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "out/lenet5/model.neuro"
    metadata, tensors = read_neuro(path)
    graph = json.loads(metadata["graph"])
    print(f"{path}: format {metadata['format']} version {metadata['version']}, "
          f"{len(graph['nodes'])} nodes, {len(tensors)} tensors, {sum(t.numel() for t in tensors.values()):,} values")
    prefix = "optimizer.state."
    optimizer_state = {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}
    resnet = any(node["name"] == "layer1.0.conv1" for node in graph["nodes"])
    model = ResNet20() if resnet else LeNet5()
    # names and shapes as PyTorch's; only BatchNorm's num_batches_tracked counters (unused in eval) are not in the file
    missing, unexpected = model.load_state_dict({n: t for n, t in tensors.items() if not n.startswith(prefix)}, strict=False)
    assert not unexpected and all(n.endswith("num_batches_tracked") for n in missing), (missing, unexpected)
    model.eval()
    if metadata.get("kind") == "checkpoint":
        load_optimizer(model, json.loads(metadata["training"]), optimizer_state)
    folder = "/usr/share/datasets/fashion-mnist/"
    images = np.frombuffer(gzip.open(folder + "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
    labels = np.frombuffer(gzip.open(folder + "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    x = torch.tensor((images.reshape(-1, 1, 28, 28).astype(np.float32) / 255 - 0.2860) / 0.3530)
    with torch.no_grad():
        accuracy = (model(x).argmax(1).numpy() == labels).mean()
    print(f"PyTorch test accuracy with these weights: {accuracy:.2%}")


if __name__ == "__main__":
    main()
