using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// Xception (Chollet, 2016), as in the widely used PyTorch port (Cadene's <c>pretrainedmodels</c>, timm's
/// <c>legacy_xception</c>; torchvision has none): entry flow conv 3×3/2 (32) and conv 3×3 (64) with BN and ReLU, then
/// blocks of ReLU → separable conv → BN repeated (a separable conv is a depthwise 3×3, groups = channels, followed by
/// a pointwise 1×1, both without bias), with 3×3/2 max pooling (padding 1) in the strided blocks and a 1×1/2 conv +
/// BN shortcut where the shape changes: entry blocks 64→128→256→728, eight middle blocks of three separable convs at
/// 728, exit block 728→1024, then separable convs to 1536 and 2048 with BN and ReLU, global average pool → fc.
/// Input (C,S,S), S ≥ 7; output (classes).
/// </summary>
public static class Xception
{
    /// <summary>Xception for <paramref name="options"/> (the zoo's reference: 3×299×299, 1000 classes).</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = g.ConvBnAct("conv1", "bn1", "relu1", g.Input, g.Width(32), 3, stride: 2);
        x = g.ConvBnAct("conv2", "bn2", "relu2", x, g.Width(64), 3);
        x = Block(g, "block1", x, g.Width(128), repeats: 2, stride: 2, startWithRelu: false, growFirst: true);
        x = Block(g, "block2", x, g.Width(256), repeats: 2, stride: 2, startWithRelu: true, growFirst: true);
        x = Block(g, "block3", x, g.Width(728), repeats: 2, stride: 2, startWithRelu: true, growFirst: true);
        for (int i = 4; i <= 11; i++)
            x = Block(g, $"block{i}", x, g.Width(728), repeats: 3, stride: 1, startWithRelu: true, growFirst: true);
        x = Block(g, "block12", x, g.Width(1024), repeats: 2, stride: 2, startWithRelu: true, growFirst: false);
        x = g.Relu("relu3", g.BatchNorm("bn3", SeparableConv(g, "conv3", x, g.Width(1536))));
        x = g.Relu("relu4", g.BatchNorm("bn4", SeparableConv(g, "conv4", x, g.Width(2048))));
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    /// <summary>Depthwise 3×3 (<c>{name}.conv1</c>, groups = channels) → pointwise 1×1 (<c>{name}.pointwise</c>), no biases.</summary>
    static string SeparableConv(ZooGraph g, string name, string x, int outChannels)
    {
        int channels = g.Channels(x);
        x = g.Conv($"{name}.conv1", x, channels, 3, padding: 1, bias: false, groups: channels);
        return g.Conv($"{name}.pointwise", x, outChannels, 1, bias: false);
    }

    /// <summary>
    /// Xception's block: <paramref name="repeats"/> × (ReLU → separable conv → BN), the first ReLU dropped unless
    /// <paramref name="startWithRelu"/>; the channel change happens at the first conv (<paramref name="growFirst"/>) or
    /// the last; max pooling 3×3 with the stride ends a strided block; the shortcut is added.
    /// </summary>
    static string Block(ZooGraph g, string name, string x, int outChannels, int repeats, int stride, bool startWithRelu, bool growFirst)
    {
        int inChannels = g.Channels(x);
        string y = x;
        int k = 0; // torchvision-style index in the block's rep Sequential: relu, sepconv, bn, …
        for (int r = 0; r < repeats; r++)
        {
            bool grows = growFirst ? r == 0 : r == repeats - 1;
            int channels = grows ? outChannels : g.Channels(y);
            if (r > 0 || startWithRelu) y = g.Relu($"{name}.rep.{k}", y);
            k++;
            y = SeparableConv(g, $"{name}.rep.{k++}", y, channels);
            y = g.BatchNorm($"{name}.rep.{k++}", y);
        }
        if (stride != 1) y = g.MaxPool($"{name}.rep.{k}", y, 3, stride, padding: 1);
        string shortcut = x;
        if (outChannels != inChannels || stride != 1)
            shortcut = g.BatchNorm($"{name}.skipbn", g.Conv($"{name}.skip", x, outChannels, 1, stride, bias: false));
        return g.Add($"{name}.add", new Add(), y, shortcut);
    }
}
