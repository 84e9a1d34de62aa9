using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// MobileNet v1 (Howard et al., 2017), width multiplier 1: a 3×3/2 convolution (32) then 13 depthwise-separable
/// blocks, each a depthwise 3×3 convolution (groups = channels) → BN → ReLU → pointwise 1×1 → BN → ReLU, global
/// average pool → fc. Convolutions have no bias (batch norm follows). torchvision has no v1; names are
/// <c>features.K.depthwise/…</c>. Input (C,S,S), any S ≥ 1; output (classes).
/// </summary>
public static class MobileNetV1
{
    /// <summary>(output channels, stride) of the 13 separable blocks.</summary>
    static readonly (int Channels, int Stride)[] Blocks =
        [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)];

    /// <summary>MobileNet v1 (width multiplier 1) for <paramref name="options"/>.</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = g.ConvBnAct("features.0.conv", "features.0.bn", "features.0.relu", g.Input, g.Width(32), 3, stride: 2, padding: 1);
        for (int i = 0; i < Blocks.Length; i++)
            x = SeparableBlock(g, $"features.{i + 1}", x, g.Width(Blocks[i].Channels), Blocks[i].Stride);
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    /// <summary>A depthwise-separable block: depthwise k×k (groups = channels, stride; k = 3 in MobileNet, padding k/2) →
    /// BN → ReLU → pointwise 1×1 → BN → ReLU.</summary>
    internal static string SeparableBlock(ZooGraph g, string name, string x, int outChannels, int stride, int kernelSize = 3)
    {
        int channels = g.Channels(x);
        x = g.ConvBnAct($"{name}.depthwise", $"{name}.bn1", $"{name}.relu1", x, channels, kernelSize, stride, padding: kernelSize / 2, groups: channels);
        return g.ConvBnAct($"{name}.pointwise", $"{name}.bn2", $"{name}.relu2", x, outChannels, 1);
    }
}

/// <summary>
/// MobileNet v2 (Sandler et al., 2018) exactly as torchvision builds it (width 1.0): conv 3×3/2 (32) → BN → ReLU6,
/// 17 inverted residual blocks (expand 1×1 → BN → ReLU6 [skipped when t = 1] → depthwise 3×3 → BN → ReLU6 → project
/// 1×1 → BN, with an identity shortcut added when stride is 1 and the channels agree), conv 1×1 (1280) → BN → ReLU6,
/// global average pool → Dropout(0.2) → Linear. Input (C,S,S), any S ≥ 1; output (classes).
/// </summary>
public static class MobileNetV2
{
    /// <summary>torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s.</summary>
    static readonly (int T, int C, int N, int S)[] Settings =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>MobileNet v2 (width 1.0) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 3,504,872 parameters, as torchvision's <c>mobilenet_v2</c>.</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = g.ConvBnAct("features.0.0", "features.0.1", "features.0.2", g.Input, g.Width(32), 3, stride: 2, padding: 1, activation: Activation.ReLU6());
        int index = 1;
        foreach (var (t, c, n, s) in Settings)
            for (int i = 0; i < n; i++)
                x = InvertedResidual(g, $"features.{index++}", x, g.Width(c), i == 0 ? s : 1, t);
        x = g.ConvBnAct($"features.{index}.0", $"features.{index}.1", $"features.{index}.2", x, g.Width(1280), 1, activation: Activation.ReLU6());
        x = g.GlobalAveragePool("avgpool", x);
        x = g.Add("classifier.0", new Dropout(0.2f), x);
        return g.Finish(g.Linear("classifier.1", x, options.Classes));
    }

    /// <summary>Expand 1×1 (t·C) → depthwise k×k (stride; k = 3 in MobileNet v2, padding k/2) → project 1×1, each with BN,
    /// ReLU6 after the first two, plus the identity when stride is 1 and the channels agree.</summary>
    internal static string InvertedResidual(ZooGraph g, string name, string x, int outChannels, int stride, int expansion, int kernelSize = 3)
    {
        int inChannels = g.Channels(x), hidden = inChannels * expansion;
        string y = x;
        int k = 0; // torchvision's index in the block's conv Sequential
        if (expansion != 1)
        {
            y = g.ConvBnAct($"{name}.conv.{k}.0", $"{name}.conv.{k}.1", $"{name}.conv.{k}.2", y, hidden, 1, activation: Activation.ReLU6());
            k++;
        }
        y = g.ConvBnAct($"{name}.conv.{k}.0", $"{name}.conv.{k}.1", $"{name}.conv.{k}.2", y, hidden, kernelSize, stride, padding: kernelSize / 2, groups: hidden,
            activation: Activation.ReLU6());
        y = g.Conv($"{name}.conv.{k + 1}", y, outChannels, 1, bias: false);
        y = g.BatchNorm($"{name}.conv.{k + 2}", y);
        return stride == 1 && inChannels == outChannels ? g.Add($"{name}.add", new Add(), x, y) : y;
    }
}
