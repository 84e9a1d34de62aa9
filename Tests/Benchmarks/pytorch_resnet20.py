"""The peer of `neuro bench --model resnet_cifar`: PyTorch (Debian's python3-torch, CPU) on the same ResNet-20
(He et al. 2015, CIFAR variant: 3 stages of 3 basic blocks, 16/32/64 channels, option-A shortcuts — the identity,
subsampled and zero-padded in channels) and the same measurement as pytorch_lenet5.py. Prints one JSON object.
Run with /usr/bin/python3:  pytorch_resnet20.py [batch] [steps] [threads]"""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)
torch.manual_seed(1)


class Block(nn.Module):
    def __init__(self, inputs, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.pad = stride, planes - inputs

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.pad))
        return F.relu(y + shortcut)


layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
inputs = 16
for stage in range(3):
    for b in range(3):
        planes = 16 << stage
        layers.append(Block(inputs, planes, 2 if b == 0 and stage > 0 else 1))
        inputs = planes
model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.rand(batch, 3, 32, 32) * 2 - 1
y = torch.randint(0, 10, (batch,))


def step():
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()


model.train()
start = time.perf_counter()
while time.perf_counter() - start < 2:
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
train = steps * batch / (time.perf_counter() - start)

model.eval()
image = torch.rand(1, 3, 32, 32)
runs = max(50, steps * 2)
with torch.no_grad():
    for _ in range(20):
        model(image).numpy()
    start = time.perf_counter()
    for _ in range(runs):
        model(image).numpy()
infer = (time.perf_counter() - start) / runs * 1e6
print(json.dumps({"backend": "pytorch-cpu", "device": f"PyTorch {torch.__version__}, {threads} thread{'s' if threads > 1 else ''}",
                  "batch": batch, "steps": steps, "trainImagesPerSecond": train, "inferenceMicrosecondsPerImage": infer}))
