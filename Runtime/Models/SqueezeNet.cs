using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// SqueezeNet 1.0 and 1.1 (Iandola et al., 2016) exactly as torchvision builds them: a stem convolution, Fire
/// modules (squeeze 1×1 → ReLU, then expand 1×1 → ReLU and expand 3×3 → ReLU concatenated along channels), ceil-mode
/// 3×3/2 max pooling, and the convolutional classifier Dropout(0.5) → final_conv 1×1 (classes) → ReLU → global
/// average pool. 1.1 has a 3×3/2 stem with 64 channels and pools earlier (2.4× less computation, same accuracy).
/// Input (C,S,S), S ≥ 21 (1.0) or 17 (1.1); output (classes).
/// </summary>
public static class SqueezeNet
{
    /// <summary>SqueezeNet 1.0 (7×7/2 stem, 96 channels) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 1,248,424 parameters, as torchvision's <c>squeezenet1_0</c>.</summary>
    public static NetworkGraph Build10(ModelOptions options) => Build(options, stemChannels: 96, stemKernel: 7, poolsBeforeFire: [3, 7]);

    /// <summary>SqueezeNet 1.1 (3×3/2 stem, 64 channels) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 1,235,496 parameters, as torchvision's <c>squeezenet1_1</c>.</summary>
    public static NetworkGraph Build11(ModelOptions options) => Build(options, stemChannels: 64, stemKernel: 3, poolsBeforeFire: [2, 4]);

    /// <summary>Both versions: the stem (conv/2 → ReLU → max pool 3×3/2), eight Fire modules squeezing to 16, 16, 32, 32, 48,
    /// 48, 64, 64 channels (expanding to 4× that), a 3×3/2 max pool before each Fire module in
    /// <paramref name="poolsBeforeFire"/> (counted from 0), and the head. Nodes are numbered <c>features.K</c> in order, as
    /// torchvision's <c>features</c> sequence numbers them (the ReLUs inside the stem and the Fire modules share their
    /// convolution's number).</summary>
    static NetworkGraph Build(ModelOptions options, int stemChannels, int stemKernel, int[] poolsBeforeFire)
    {
        var g = new ZooGraph(options);
        string x = g.Relu("features.1", g.Conv("features.0", g.Input, g.Width(stemChannels), stemKernel, stride: 2));
        x = g.MaxPool("features.2", x, 3, 2, ceilMode: true);
        int index = 3;
        for (int fire = 0; fire < 8; fire++)
        {
            if (poolsBeforeFire.Contains(fire)) x = g.MaxPool($"features.{index++}", x, 3, 2, ceilMode: true);
            int squeeze = 16 * (fire / 2 + 1);
            x = Fire(g, $"features.{index++}", x, squeeze, 4 * squeeze);
        }
        return Head(g, x);
    }

    /// <summary>A Fire module: squeeze 1×1 (<paramref name="squeeze"/>) → ReLU → [expand 1×1 → ReLU ‖ expand 3×3 → ReLU], each expand <paramref name="expand"/> channels.</summary>
    static string Fire(ZooGraph g, string name, string x, int squeeze, int expand)
    {
        string s = g.Relu($"{name}.squeeze_activation", g.Conv($"{name}.squeeze", x, g.Width(squeeze), 1));
        string e1 = g.Relu($"{name}.expand1x1_activation", g.Conv($"{name}.expand1x1", s, g.Width(expand), 1));
        string e3 = g.Relu($"{name}.expand3x3_activation", g.Conv($"{name}.expand3x3", s, g.Width(expand), 3, padding: 1));
        return g.Add(name, new Concat(), e1, e3);
    }

    static NetworkGraph Head(ZooGraph g, string x)
    {
        x = g.Add("classifier.0", new Dropout(0.5f), x);
        x = g.Relu("classifier.2", g.Conv("classifier.1", x, g.Options.Classes, 1));
        return g.Finish(g.GlobalAveragePool("classifier.3", x));
    }
}
