"""Writes golden files: small JSON documents holding named float32 tensors (shape + values) and the
attributes that produced them, computed by PyTorch. Tests load them with TestSupport/GoldenFile.cs and
compare both backends against them, so CI needs no PyTorch.

File layout (Tests/NeuroPlugin.Tests/Golden/<name>.json):
  {"name": ..., "generator": "torch <version>", "attributes": {...},
   "tensors": {"x": {"shape": [2, 3], "data": [...]}, ...}}
"""
import json, os
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "NeuroPlugin.Tests", "Golden")


def _array(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(value, dtype=np.float32))


def write(name, tensors, attributes=None):
    """Writes Golden/<name>.json with every tensor as float32 in C order (NCHW)."""
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "name": name,
        "generator": f"torch {torch.__version__}",
        "attributes": attributes or {},
        "tensors": {},
    }
    for key, value in tensors.items():
        a = _array(value)
        # repr of a float32 widened to float64 round-trips exactly through JSON
        doc["tensors"][key] = {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    return doc


def seeded(seed):
    """A generator for reproducible inputs."""
    g = torch.Generator().manual_seed(seed)
    return g
