using NeuroPlugin.Graph;
using NeuroPlugin.Layers;

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
    public static NetworkGraph Build10(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = g.Relu("features.1", g.Conv("features.0", g.Input, g.Width(96), 7, stride: 2));
        x = g.MaxPool("features.2", x, 3, 2, ceilMode: true);
        x = Fire(g, "features.3", x, 16, 64);
        x = Fire(g, "features.4", x, 16, 64);
        x = Fire(g, "features.5", x, 32, 128);
        x = g.MaxPool("features.6", x, 3, 2, ceilMode: true);
        x = Fire(g, "features.7", x, 32, 128);
        x = Fire(g, "features.8", x, 48, 192);
        x = Fire(g, "features.9", x, 48, 192);
        x = Fire(g, "features.10", x, 64, 256);
        x = g.MaxPool("features.11", x, 3, 2, ceilMode: true);
        x = Fire(g, "features.12", x, 64, 256);
        return Head(g, x);
    }

    /// <summary>SqueezeNet 1.1 (3×3/2 stem, 64 channels) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 1,235,496 parameters, as torchvision's <c>squeezenet1_1</c>.</summary>
    public static NetworkGraph Build11(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = g.Relu("features.1", g.Conv("features.0", g.Input, g.Width(64), 3, stride: 2));
        x = g.MaxPool("features.2", x, 3, 2, ceilMode: true);
        x = Fire(g, "features.3", x, 16, 64);
        x = Fire(g, "features.4", x, 16, 64);
        x = g.MaxPool("features.5", x, 3, 2, ceilMode: true);
        x = Fire(g, "features.6", x, 32, 128);
        x = Fire(g, "features.7", x, 32, 128);
        x = g.MaxPool("features.8", x, 3, 2, ceilMode: true);
        x = Fire(g, "features.9", x, 48, 192);
        x = Fire(g, "features.10", x, 48, 192);
        x = Fire(g, "features.11", x, 64, 256);
        x = Fire(g, "features.12", x, 64, 256);
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
