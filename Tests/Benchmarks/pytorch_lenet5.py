"""The peer of `neuro bench --model lenet5`: PyTorch (Debian's python3-torch, CPU, 1 thread) on the same
network and the same measurement (training images/s at a batch size after warm-up; batch-1 inference
microseconds per image including the copy of the logits out). Prints one JSON object.
Run with /usr/bin/python3 (the interpreter that has Debian's PyTorch):  pytorch_lenet5.py [batch] [steps] [threads]"""
import json, sys, time
import torch
import torch.nn as nn

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)
torch.manual_seed(1)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.rand(batch, 1, 28, 28) * 2 - 1
y = torch.randint(0, 10, (batch,))

def step():
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()

start = time.perf_counter()
while time.perf_counter() - start < 2:
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
train = steps * batch / (time.perf_counter() - start)

image = torch.rand(1, 1, 28, 28)
runs = max(50, steps * 2)
with torch.no_grad():
    for _ in range(100):
        model(image).numpy()
    start = time.perf_counter()
    for _ in range(runs):
        model(image).numpy()
infer = (time.perf_counter() - start) / runs * 1e6
print(json.dumps({"backend": "pytorch-cpu", "device": f"PyTorch {torch.__version__}, {threads} thread{'s' if threads > 1 else ''}",
                  "batch": batch, "steps": steps, "trainImagesPerSecond": train, "inferenceMicrosecondsPerImage": infer}))
