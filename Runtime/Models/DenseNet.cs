using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// DenseNet-121 (Huang et al., 2016) exactly as torchvision builds it: growth rate 32, bottleneck size 4, blocks of
/// 6/12/24/16 layers starting from 64 channels. Stem conv0 7×7/2 (no bias) → norm0 → ReLU → max pool 3×3/2 (padding 1);
/// each dense layer is BN → ReLU → conv 1×1 (4·32) → BN → ReLU → conv 3×3 (32) on the concatenation of every earlier
/// feature map of its block; each transition is BN → ReLU → conv 1×1 (half the channels) → avg pool 2×2/2; then
/// norm5 → ReLU → global average pool → classifier. Input (C,S,S), S ≥ 29; output (classes).
/// </summary>
public static class DenseNet
{
    /// <summary>DenseNet-121 for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 7,978,856 parameters, as torchvision's <c>densenet121</c>.</summary>
    public static NetworkGraph Build121(ModelOptions options) => Build(options, growthRate: 32, blocks: [6, 12, 24, 16], initialFeatures: 64, bottleneckSize: 4);

    static NetworkGraph Build(ModelOptions options, int growthRate, int[] blocks, int initialFeatures, int bottleneckSize)
    {
        var g = new ZooGraph(options);
        int growth = g.Width(growthRate);
        string x = g.ConvBnAct("features.conv0", "features.norm0", "features.relu0", g.Input, g.Width(initialFeatures), 7, stride: 2, padding: 3);
        x = g.MaxPool("features.pool0", x, 3, 2, padding: 1);
        for (int b = 0; b < blocks.Length; b++)
        {
            x = DenseBlock(g, $"features.denseblock{b + 1}", x, blocks[b], growth, bottleneckSize);
            if (b == blocks.Length - 1) break;
            string transition = $"features.transition{b + 1}";
            x = g.Relu($"{transition}.relu", g.BatchNorm($"{transition}.norm", x));
            x = g.Conv($"{transition}.conv", x, g.Channels(x) / 2, 1, bias: false);
            x = g.Add($"{transition}.pool", new AvgPool2d(2, 2), x);
        }
        x = g.Relu("features.relu5", g.BatchNorm("features.norm5", x));
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("classifier", x, options.Classes));
    }

    /// <summary>A dense block of <paramref name="layers"/> dense layers (BN → ReLU → conv 1×1 (bottleneckSize·growth) → BN → ReLU →
    /// conv 3×3 (growth)), each reading the concatenation of the block's input and every earlier layer's output; returns the
    /// concatenation of all of them, C + layers·growth channels.</summary>
    internal static string DenseBlock(ZooGraph g, string block, string x, int layers, int growth, int bottleneckSize)
    {
        var features = new List<string> { x };
        for (int l = 0; l < layers; l++)
        {
            string name = $"{block}.denselayer{l + 1}";
            // the layer reads every feature map so far; torch.cat(prev_features, 1) in torchvision
            string input = features.Count == 1 ? features[0] : g.Add($"{name}.concat", new Concat(features.Count), [.. features]);
            string y = g.Relu($"{name}.relu1", g.BatchNorm($"{name}.norm1", input));
            y = g.Conv($"{name}.conv1", y, bottleneckSize * growth, 1, bias: false);
            y = g.Relu($"{name}.relu2", g.BatchNorm($"{name}.norm2", y));
            features.Add(g.Conv($"{name}.conv2", y, growth, 3, padding: 1, bias: false));
        }
        return g.Add($"{block}.concat", new Concat(features.Count), [.. features]);
    }
}
