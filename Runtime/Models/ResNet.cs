using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// The ImageNet ResNets of torchvision (He et al., 2015; v1.5: the bottleneck's stride is on its 3×3 convolution)
/// and their relatives: Wide ResNet-50-2 (bottleneck twice as wide), ResNeXt-50 32×4d (grouped 3×3 convolution,
/// 32 groups of 4 channels per 64 planes) and SE-ResNet-50 (Hu et al., 2017: squeeze-and-excitation with reduction
/// 16 on every bottleneck, before the residual sum; torchvision has none, so its names extend the ResNet layout
/// with <c>layerK.B.se.fc1/fc2</c>).
/// <para>Stem conv1 7×7/2 (64) → bn1 → ReLU → max pool 3×3/2 → four stages (64, 128, 256, 512 planes; the first
/// block of stages 2–4 has stride 2, and a 1×1 conv + batch norm <c>downsample</c> on the shortcut where the shape
/// changes) → global average pool → fc. Input (C,S,S), S ≥ 1 (any size works: every stage pads); output (classes).</para>
/// </summary>
public static class ResNet
{
    /// <summary>Blocks per stage.</summary>
    static readonly int[] Layers18 = [2, 2, 2, 2], Layers34 = [3, 4, 6, 3], Layers50 = [3, 4, 6, 3];

    /// <summary>ResNet-18 (basic blocks 2/2/2/2) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 11,689,512 parameters, as torchvision's <c>resnet18</c>.</summary>
    public static NetworkGraph Build18(ModelOptions options) => Build(options, Layers18, bottleneck: false);
    /// <summary>ResNet-34 (basic blocks 3/4/6/3) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 21,797,672 parameters, as torchvision's <c>resnet34</c>.</summary>
    public static NetworkGraph Build34(ModelOptions options) => Build(options, Layers34, bottleneck: false);
    /// <summary>ResNet-50 (bottleneck blocks 3/4/6/3) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 25,557,032 parameters, as torchvision's <c>resnet50</c>.</summary>
    public static NetworkGraph Build50(ModelOptions options) => Build(options, Layers50, bottleneck: true);
    /// <summary>Wide ResNet-50-2 (bottleneck width 128 per 64 planes) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 68,883,240 parameters, as torchvision's <c>wide_resnet50_2</c>.</summary>
    public static NetworkGraph BuildWide50x2(ModelOptions options) => Build(options, Layers50, bottleneck: true, widthPerGroup: 128);
    /// <summary>ResNeXt-50 32×4d (32 groups of 4 channels per 64 planes) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 25,028,904 parameters, as torchvision's <c>resnext50_32x4d</c>.</summary>
    public static NetworkGraph BuildResNeXt50x32x4d(ModelOptions options) => Build(options, Layers50, bottleneck: true, groups: 32, widthPerGroup: 4);
    /// <summary>SE-ResNet-50 (ResNet-50 with squeeze-and-excitation, reduction 16, on every bottleneck) for <paramref name="options"/>.</summary>
    public static NetworkGraph BuildSeResNet50(ModelOptions options) => Build(options, Layers50, bottleneck: true, squeezeExcitation: true);

    static NetworkGraph Build(ModelOptions options, int[] blocks, bool bottleneck, int groups = 1, int widthPerGroup = 64, bool squeezeExcitation = false)
    {
        var g = new ZooGraph(options);
        string x = g.ConvBnAct("conv1", "bn1", "relu", g.Input, g.Width(64), kernelSize: 7, stride: 2, padding: 3);
        x = g.MaxPool("maxpool", x, 3, 2, padding: 1);
        // groups shrink with the width, so each group keeps its published channel count
        int scaledGroups = Math.Max(1, groups / options.WidthDivisor);
        for (int stage = 0; stage < blocks.Length; stage++)
        {
            int planes = 64 << stage;
            for (int b = 0; b < blocks[stage]; b++)
            {
                string name = $"layer{stage + 1}.{b}";
                int stride = b == 0 && stage > 0 ? 2 : 1;
                x = bottleneck
                    ? Bottleneck(g, name, x, planes, stride, scaledGroups, g.Width(planes * widthPerGroup / 64 * groups), squeezeExcitation)
                    : BasicBlock(g, name, x, g.Width(planes), stride);
            }
        }
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    /// <summary>conv k×k (stride) → bn → ReLU → conv k×k → bn, plus the shortcut, then ReLU (k = 3 in ResNet; odd k keeps
    /// the size with padding k/2).</summary>
    internal static string BasicBlock(ZooGraph g, string name, string x, int planes, int stride, int kernelSize = 3)
    {
        string y = g.ConvBnAct($"{name}.conv1", $"{name}.bn1", $"{name}.relu1", x, planes, kernelSize, stride, padding: kernelSize / 2);
        y = g.Conv($"{name}.conv2", y, planes, kernelSize, padding: kernelSize / 2, bias: false);
        y = g.BatchNorm($"{name}.bn2", y);
        return g.Relu($"{name}.relu", g.Add($"{name}.add", new Add(), y, Shortcut(g, name, x, planes, stride)));
    }

    /// <summary>conv 1×1 → bn → ReLU → conv 3×3 (stride, groups) → bn → ReLU → conv 1×1 (4·planes) → bn [→ SE],
    /// plus the shortcut, then ReLU.</summary>
    internal static string Bottleneck(ZooGraph g, string name, string x, int planes, int stride, int groups, int width, bool squeezeExcitation)
    {
        int outChannels = g.Width(planes * 4);
        string y = g.ConvBnAct($"{name}.conv1", $"{name}.bn1", $"{name}.relu1", x, width, 1);
        y = g.ConvBnAct($"{name}.conv2", $"{name}.bn2", $"{name}.relu2", y, width, 3, stride, padding: 1, groups: groups);
        y = g.Conv($"{name}.conv3", y, outChannels, 1, bias: false);
        y = g.BatchNorm($"{name}.bn3", y);
        if (squeezeExcitation) y = SqueezeExcitation.Apply(g, $"{name}.se", y, reduction: 16);
        return g.Relu($"{name}.relu", g.Add($"{name}.add", new Add(), y, Shortcut(g, name, x, outChannels, stride)));
    }

    /// <summary>The identity, or torchvision's <c>downsample</c> (1×1 conv with the block's stride → bn) where the shape changes.</summary>
    static string Shortcut(ZooGraph g, string name, string x, int outChannels, int stride)
    {
        if (stride == 1 && g.Channels(x) == outChannels) return x;
        string s = g.Conv($"{name}.downsample.0", x, outChannels, 1, stride, bias: false);
        return g.BatchNorm($"{name}.downsample.1", s);
    }
}

/// <summary>
/// Squeeze-and-excitation (Hu et al., 2017) on x (N,C,H,W): <c>s = σ(W₂·ReLU(W₁·GAP(x) + b₁) + b₂)</c> with
/// W₁ (C/r, C), W₂ (C, C/r); <c>y[n,c,h,w] = x[n,c,h,w]·s[n,c]</c>. Nodes <c>{name}.pool</c>, <c>.fc1</c>, <c>.relu</c>,
/// <c>.fc2</c>, <c>.sigmoid</c>, <c>.scale</c>; 2C²/r + C/r + C parameters.
/// </summary>
internal static class SqueezeExcitation
{
    public static string Apply(ZooGraph g, string name, string x, int reduction)
    {
        int channels = g.Channels(x);
        string s = g.GlobalAveragePool($"{name}.pool", x);
        s = g.Linear($"{name}.fc1", s, Math.Max(1, channels / reduction));
        s = g.Relu($"{name}.relu", s);
        s = g.Linear($"{name}.fc2", s, channels);
        s = g.Add($"{name}.sigmoid", Activation.Sigmoid(), s);
        return g.Add($"{name}.scale", new ChannelMultiply(), x, s);
    }
}
