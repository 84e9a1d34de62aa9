using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// The CIFAR residual networks (He et al., 2015, section 4.2) for small images such as 32×32 CIFAR or 28×28
/// Fashion-MNIST: conv 3×3 (16) → BN → ReLU, three stages of n basic blocks at 16, 32, 64 channels (the first block
/// of stages 2 and 3 has stride 2), global average pool → fc; depth 6n + 2. Shortcuts are the paper's option A,
/// parameter-free: the identity subsampled by a 1×1/2 max pool (taking every other pixel) and zero-padded to the new
/// channel count (<see cref="ChannelPad"/>). The zoo's <c>resnet_cifar</c> is ResNet-20 (n = 3, 0.27 M parameters).
/// Input (C,S,S), any S ≥ 1; output (classes).
/// </summary>
public static class ResNetCifar
{
    /// <summary>ResNet-20 (n = 3 blocks per stage, 0.27 M parameters at <see cref="ModelOptions.Cifar"/>) for <paramref name="options"/>.</summary>
    public static NetworkGraph Build20(ModelOptions options) => Build(options, blocksPerStage: 3);

    /// <summary>A CIFAR ResNet of depth 6·<paramref name="blocksPerStage"/> + 2.</summary>
    public static NetworkGraph Build(ModelOptions options, int blocksPerStage)
    {
        var (g, x) = Stem(options, blocksPerStage, nameof(ResNetCifar));
        for (int stage = 0; stage < 3; stage++)
            for (int b = 0; b < blocksPerStage; b++)
                x = Block(g, $"layer{stage + 1}.{b}", x, g.Width(16 << stage), b == 0 && stage > 0 ? 2 : 1);
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    /// <summary>The graph and its stem, conv 3×3 (16) → BN → ReLU, after checking the depth (RoR's too: the same network).</summary>
    internal static (ZooGraph Graph, string Stem) Stem(ModelOptions options, int blocksPerStage, string model)
    {
        if (blocksPerStage < 1) throw new ArgumentOutOfRangeException(nameof(blocksPerStage), blocksPerStage, $"{model}: blocksPerStage must be positive");
        var g = new ZooGraph(options);
        return (g, g.ConvBnAct("conv1", "bn1", "relu", g.Input, g.Width(16), 3, padding: 1));
    }

    /// <summary>conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the option-A shortcut and any <paramref name="extraShortcuts"/>
    /// (RoR's higher levels), then ReLU.</summary>
    internal static string Block(ZooGraph g, string name, string x, int planes, int stride, params string[] extraShortcuts)
    {
        string y = g.ConvBnAct($"{name}.conv1", $"{name}.bn1", $"{name}.relu1", x, planes, 3, stride, padding: 1);
        y = g.BatchNorm($"{name}.bn2", g.Conv($"{name}.conv2", y, planes, 3, padding: 1, bias: false));
        string[] terms = [y, OptionAShortcut(g, $"{name}.shortcut", x, planes, stride), .. extraShortcuts];
        return g.Relu($"{name}.relu", g.Add($"{name}.add", new Add(terms.Length), terms));
    }

    /// <summary>The identity, subsampled (1×1 max pool with the stride) and zero-padded to <paramref name="channels"/> where the shape changes.</summary>
    internal static string OptionAShortcut(ZooGraph g, string name, string x, int channels, int stride)
    {
        if (stride != 1) x = g.Add($"{name}.subsample", new MaxPool2d(1, stride), x);
        return g.Channels(x) == channels ? x : g.Add($"{name}.pad", new ChannelPad(channels), x);
    }
}

/// <summary>
/// PyramidNet (Han, Kim &amp; Kim, 2016), the additive CIFAR network: instead of doubling at each stage, every one of
/// the 3n basic blocks widens by α/(3n) channels (rounded), from 16 to 16 + α. Blocks are pre-activation style without
/// the first ReLU: BN → conv 3×3 (stride) → BN → ReLU → conv 3×3 → BN, added to the shortcut (2×2/2 average pooling
/// in ceil mode where the block downsamples, then zero-padded to the new width); conv1 3×3 (16) → BN, the stages,
/// BN → ReLU → global average pool → fc. The zoo's <c>pyramidnet</c> is PyramidNet-110 with α = 48 (1.7 M parameters,
/// as in the paper). Input (C,S,S), any S ≥ 1; output (classes).
/// </summary>
public static class PyramidNet
{
    /// <summary>PyramidNet-110 with widening α = 48 (1.7 M parameters at <see cref="ModelOptions.Cifar"/>) for <paramref name="options"/>.</summary>
    public static NetworkGraph Build110(ModelOptions options) => Build(options, depth: 110, alpha: 48);

    /// <summary>An additive PyramidNet of <paramref name="depth"/> = 6n + 2 layers widening by <paramref name="alpha"/> channels in all.</summary>
    public static NetworkGraph Build(ModelOptions options, int depth, double alpha)
    {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new ArgumentOutOfRangeException(nameof(depth), depth, "PyramidNet: depth must be 6n + 2 with n ≥ 1");
        if (!(alpha >= 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "PyramidNet: alpha must not be negative");
        int n = (depth - 2) / 6;
        var g = new ZooGraph(options);
        double start = g.Width(16), rate = alpha / options.WidthDivisor / (3 * n), width = start;
        string x = g.BatchNorm("bn1", g.Conv("conv1", g.Input, (int)start, 3, padding: 1, bias: false));
        for (int stage = 0; stage < 3; stage++)
            for (int b = 0; b < n; b++)
            {
                width += rate;
                x = Block(g, $"layer{stage + 1}.{b}", x, (int)Math.Round(width), b == 0 && stage > 0 ? 2 : 1);
            }
        x = g.Relu("relu_final", g.BatchNorm("bn_final", x));
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    static string Block(ZooGraph g, string name, string x, int planes, int stride)
    {
        string y = g.BatchNorm($"{name}.bn1", x);
        y = g.Conv($"{name}.conv1", y, planes, 3, stride, padding: 1, bias: false);
        y = g.Relu($"{name}.relu", g.BatchNorm($"{name}.bn2", y));
        y = g.BatchNorm($"{name}.bn3", g.Conv($"{name}.conv2", y, planes, 3, padding: 1, bias: false));
        string shortcut = x;
        if (stride != 1)
        {
            // AvgPool2d(2, 2, ceil_mode=True): an odd edge's last window is cut to the input and averages what it covers
            var shape = g.Shape(x);
            var window = new Backends.Window2d(2, 2, 2, 2, 0, 0, shape.H % 2, shape.W % 2);
            shortcut = g.Add($"{name}.downsample", new AvgPool2d(window, countIncludePad: false), x);
        }
        if (g.Channels(shortcut) != planes) shortcut = g.Add($"{name}.pad", new ChannelPad(planes), shortcut);
        return g.Add($"{name}.add", new Add(), y, shortcut);
    }
}

/// <summary>
/// RoR-3 (Zhang et al., "Residual Networks of Residual Networks", 2016) on the CIFAR ResNet-110: besides each basic
/// block's own shortcut (level 3, option A), every stage has a shortcut around it (level 2) and the whole residual part
/// one more (level 1), each added to the last block's sum before its ReLU. The level-1 and level-2 shortcuts are
/// projections (1×1 conv with the needed stride → BN) where the shape changes and identities otherwise, as in the
/// paper. Names: <c>shortcut</c> (level 1), <c>layerK.shortcut</c> (level 2), <c>layerK.B.*</c> (blocks).
/// Input (C,S,S), any S ≥ 1; output (classes).
/// </summary>
public static class Ror
{
    /// <summary>RoR-3 on ResNet-110 (18 blocks per stage) for <paramref name="options"/>.</summary>
    public static NetworkGraph Build110(ModelOptions options) => Build(options, blocksPerStage: 18);

    /// <summary>RoR-3 on a CIFAR ResNet of depth 6·<paramref name="blocksPerStage"/> + 2.</summary>
    public static NetworkGraph Build(ModelOptions options, int blocksPerStage)
    {
        var (g, stem) = ResNetCifar.Stem(options, blocksPerStage, nameof(Ror));
        string x = stem;
        for (int stage = 0; stage < 3; stage++)
        {
            int planes = g.Width(16 << stage), stride = stage > 0 ? 2 : 1;
            string stageInput = x;
            for (int b = 0; b < blocksPerStage; b++)
            {
                string name = $"layer{stage + 1}.{b}";
                int blockStride = b == 0 ? stride : 1;
                if (b < blocksPerStage - 1)
                {
                    x = ResNetCifar.Block(g, name, x, planes, blockStride);
                    continue;
                }
                var extra = new List<string> { Projection(g, $"layer{stage + 1}.shortcut", stageInput, planes, stride) };
                if (stage == 2) extra.Add(Projection(g, "shortcut", stem, planes, 4));
                x = ResNetCifar.Block(g, name, x, planes, blockStride, [.. extra]);
            }
        }
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    /// <summary>Identity, or 1×1 conv (stride) → BN when the channels or the size change.</summary>
    static string Projection(ZooGraph g, string name, string x, int channels, int stride)
    {
        if (stride == 1 && g.Channels(x) == channels) return x;
        return g.BatchNorm($"{name}.1", g.Conv($"{name}.0", x, channels, 1, stride, bias: false));
    }
}
