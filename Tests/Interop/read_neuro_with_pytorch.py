"""Reads a .neuro model file with nothing but Python's standard library and PyTorch, the way any
safetensors reader does, loads the weights into a PyTorch LeNet-5 by their state-dict names and reports its
Fashion-MNIST test accuracy — which equals what `neuro train` reported for the same file.

  /usr/bin/python3 Tests/Interop/read_neuro_with_pytorch.py out/lenet5/model.neuro

Layout (safetensors): u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
"__metadata__" (format, version, graph JSON), then the raw little-endian tensor bytes.
"""
import gzip, json, struct, sys

import numpy as np
import torch
import torch.nn as nn


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


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "out/lenet5/model.neuro"
    metadata, tensors = read_neuro(path)
    graph = json.loads(metadata["graph"])
    print(f"{path}: format {metadata['format']} version {metadata['version']}, "
          f"{len(graph['nodes'])} nodes, {len(tensors)} tensors, {sum(t.numel() for t in tensors.values()):,} values")
    model = LeNet5()
    model.load_state_dict(tensors)  # strict: every name and shape must match PyTorch's
    folder = "/usr/share/datasets/fashion-mnist/"
    images = np.frombuffer(gzip.open(folder + "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
    labels = np.frombuffer(gzip.open(folder + "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    x = torch.tensor((images.reshape(-1, 1, 28, 28).astype(np.float32) / 255 - 0.2860) / 0.3530)
    with torch.no_grad():
        accuracy = (model(x).argmax(1).numpy() == labels).mean()
    print(f"PyTorch test accuracy with these weights: {accuracy:.2%}")


if __name__ == "__main__":
    main()
