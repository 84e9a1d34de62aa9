"""The peer of `neuro bench --model lenet5`: PyTorch (Debian's python3-torch, CPU, 1 thread by default) on the same
network and the same measurement (see pytorch_bench.py). Prints one JSON object.
Run with /usr/bin/python3 (the interpreter that has Debian's PyTorch):  pytorch_lenet5.py [batch] [steps] [threads]"""
import torch.nn as nn
from pytorch_bench import arguments, measure

batch, steps, threads = arguments(default_steps=200)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
measure(model, (1, 28, 28), batch, steps, threads, inference_warmup=100)
