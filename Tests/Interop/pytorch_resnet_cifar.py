"""`neuro train --model resnet_cifar` written in PyTorch (He et al. 2015, CIFAR variant), with our graph's node names
as module paths, so a .neuro file's tensors load by state-dict name. Used by read_neuro_with_pytorch.py (to check a
trained model's accuracy) and by the CPU benchmark's PyTorch peer (Tests/Benchmarks/pytorch_resnet20.py)."""
import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    """He et al.'s CIFAR block: conv-BN-ReLU-conv-BN plus the shortcut, then ReLU. Option A shortcut where the shape
    changes: every second pixel (the 1×1 stride-2 max pool of our graph) and zero channels appended."""

    def __init__(self, inputs, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.pad = stride, planes - inputs

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        shortcut = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            shortcut = nn.functional.pad(shortcut, (0, 0, 0, 0, 0, self.pad))
        return torch.relu(y + shortcut)


class ResNet20(nn.Module):
    """`--model resnet_cifar` on Fashion-MNIST: a 3×3 stem to 16 channels, three stages of three blocks (16, 32, 64
    channels, stride 2 into stages 2 and 3), global average pooling, a linear classifier."""

    def __init__(self, channels=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        inputs = 16
        for stage in range(3):
            planes = 16 << stage
            blocks = []
            for b in range(3):
                blocks.append(BasicBlock(inputs, planes, 2 if b == 0 and stage > 0 else 1))
                inputs = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
