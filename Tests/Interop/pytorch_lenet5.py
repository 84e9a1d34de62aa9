"""The zoo's LeNet-5 (Runtime/Models/LeNet5.cs) written in PyTorch, with our graph's node names as module names, so a
.neuro file's tensors load by state-dict name. Used by read_neuro_with_pytorch.py and by the ONNX fixtures
(Tests/Golden/gen_onnx.py): view(N, -1) makes PyTorch's exporter emit Shape/Gather/Unsqueeze/Concat/Reshape."""
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
