using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// The zoo's building blocks on their own, for the editor's block templates: each is built by the same code as the
/// networks that use it (no copies), on a graph whose only input is the tensor the block will read, (C,H,W) per item.
/// Every block keeps the channel count unless its description says otherwise, and keeps H×W (stride 1).
/// </summary>
public static class ZooBlocks
{
    sealed record Entry(string Label, string Description, Func<ZooGraph, string, string, string> Build);

    static readonly Dictionary<string, Entry> blocks = new(StringComparer.Ordinal)
    {
        ["residual"] = new("Residual block", "ResNet-18/34 basic block: conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the identity, then ReLU (C → C)",
            (g, name, x) => ResNet.BasicBlock(g, name, x, g.Channels(x), stride: 1)),
        ["bottleneck"] = new("Bottleneck block", "ResNet-50 bottleneck: conv 1×1 (C/4) → conv 3×3 (C/4) → conv 1×1 (C), each with BN, plus the identity (C → C; C divisible by 4)",
            (g, name, x) => ResNet.Bottleneck(g, name, x, Math.Max(1, g.Channels(x) / 4), stride: 1, groups: 1, width: Math.Max(1, g.Channels(x) / 4), squeezeExcitation: false)),
        ["inception"] = new("Inception module", "GoogLeNet's inception3a: 1×1 (64) | 1×1 (96) → 3×3 (128) | 1×1 (16) → 3×3 (32) | max pool → 1×1 (32), concatenated (C → 256)",
            (g, name, x) => GoogLeNet.Block(g, name, x, 64, 96, 128, 16, 32, 32)),
        ["squeeze-excitation"] = new("Squeeze-and-excitation", "SE-ResNet's channel attention, reduction 16: x·σ(W₂·ReLU(W₁·GAP(x))) (C → C)",
            (g, name, x) => SqueezeExcitation.Apply(g, name, x, reduction: 16)),
        ["dense-block"] = new("Dense block", "DenseNet-121's first dense block: 6 layers of BN → ReLU → conv 1×1 (128) → BN → ReLU → conv 3×3 (32) on every earlier output (C → C + 192)",
            (g, name, x) => DenseNet.DenseBlock(g, name, x, layers: 6, growth: 32, bottleneckSize: 4)),
        ["depthwise-separable"] = new("Depthwise-separable block", "MobileNet v1: depthwise 3×3 → BN → ReLU → pointwise 1×1 → BN → ReLU (C → C)",
            (g, name, x) => MobileNetV1.SeparableBlock(g, name, x, g.Channels(x), stride: 1)),
        ["inverted-residual"] = new("Inverted residual block", "MobileNet v2: expand 1×1 (6C) → depthwise 3×3 → project 1×1 (C), each with BN, ReLU6 after the first two, plus the identity (C → C)",
            (g, name, x) => MobileNetV2.InvertedResidual(g, name, x, g.Channels(x), stride: 1, expansion: 6)),
    };

    /// <summary>Every block's name (<c>residual</c>, <c>bottleneck</c>, <c>inception</c>, <c>squeeze-excitation</c>,
    /// <c>dense-block</c>, <c>depthwise-separable</c>, <c>inverted-residual</c>).</summary>
    public static IReadOnlyCollection<string> Names => blocks.Keys;

    /// <summary>A block's human name ("Residual block").</summary>
    public static string Label(string block) => Find(block).Label;

    /// <summary>What the block computes, in one line.</summary>
    public static string Description(string block) => Find(block).Description;

    /// <summary>
    /// Builds block <paramref name="block"/> reading graph input <paramref name="inputName"/> of per-item shape
    /// <paramref name="itemShape"/> (C,H,W); node names start with <paramref name="prefix"/> + '.' (the Inception module's
    /// concatenation is <paramref name="prefix"/> itself), and the graph's output is the block's output. Throws
    /// <see cref="UnknownModelException"/> for an unknown block and <see cref="ShapeException"/> (naming the node) when
    /// the input does not fit.
    /// </summary>
    public static NetworkGraph Build(string block, string prefix, string inputName, TensorShape itemShape)
    {
        var entry = Find(block);
        if (itemShape.Rank != 3) throw new ShapeException($"{prefix}: the {entry.Label.ToLowerInvariant()} needs an input (N,C,H,W), got (N,{string.Join(",", itemShape.ToArray())})");
        var g = new ZooGraph(new ModelOptions(itemShape[0], itemShape[1], 10), inputName, itemShape);
        return g.Finish(entry.Build(g, prefix, g.Input));
    }

    static Entry Find(string block) =>
        blocks.TryGetValue(block, out var entry)
            ? entry
            : throw new UnknownModelException($"unknown block '{block}'; known blocks: {string.Join(", ", blocks.Keys)}");
}
