"""The peer of `neuro bench --model resnet_cifar`: PyTorch (Debian's python3-torch, CPU) on the same ResNet-20
(He et al. 2015, CIFAR variant: 3 stages of 3 basic blocks, 16/32/64 channels, option-A shortcuts — the identity,
subsampled and zero-padded in channels) and the same measurement (see pytorch_bench.py). Prints one JSON object.
Run with /usr/bin/python3:  pytorch_resnet20.py [batch] [steps] [threads]"""
import torch.nn as nn
import torch.nn.functional as F
from pytorch_bench import arguments, measure

batch, steps, threads = arguments(default_steps=20)


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
measure(model, (3, 32, 32), batch, steps, threads, inference_warmup=20)
