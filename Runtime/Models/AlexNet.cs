using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// AlexNet (Krizhevsky et al., 2012) in torchvision's layout: five convolutions with overlapping 3×3/stride-2 max
/// pooling, <c>AdaptiveAvgPool2d(6×6)</c>, and a classifier Dropout → Linear(256·6·6, 4096) → ReLU → Dropout →
/// Linear(4096, 4096) → ReLU → Linear(4096, classes). Input (C,S,S), S ≥ 63; output (classes) logits.
/// <para>torchvision's AlexNet (the "one weird trick" variant, 64/192 channels in the first convolutions) has no
/// local response normalization; the paper's LRN (size 5, α 1e-4, β 0.75, k 2, after the first two ReLUs) is
/// added here as nodes <c>features.lrn1</c>/<c>features.lrn2</c>. It has no parameters, so the parameter count and
/// every parameter name still equal torchvision's.</para>
/// </summary>
public static class AlexNet
{
    /// <summary>AlexNet for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 61,100,840 parameters, as torchvision's <c>alexnet</c>.</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = Classifier.Features(g, [(64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)], earlyPoolPadding: 0);
        return Classifier.TorchvisionHead(g, x, pooledSize: 6, hidden: g.Width(4096), dropoutFirst: true);
    }
}

/// <summary>
/// ZFNet (Zeiler &amp; Fergus, 2013): AlexNet with a 7×7/stride-2 first convolution (96 channels) and a
/// 5×5/stride-2 second one (256), LRN after the first two ReLUs, 3×3/stride-2 max pooling (padding 1 after the
/// first two, so a 224 input gives 110 → 55 → 26 → 13 → 6), and AlexNet's 6×6-pooled classifier.
/// torchvision has no ZFNet; names follow the AlexNet layout. Input (C,S,S), S ≥ 53.
/// </summary>
public static class ZfNet
{
    /// <summary>ZFNet for <paramref name="options"/> (input channels, image size ≥ 53, classes).</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = Classifier.Features(g, [(96, 7, 2, 1), (256, 5, 2, 0), (384, 3, 1, 1), (384, 3, 1, 1), (256, 3, 1, 1)], earlyPoolPadding: 1);
        return Classifier.TorchvisionHead(g, x, pooledSize: 6, hidden: g.Width(4096), dropoutFirst: true);
    }
}

/// <summary>The convolutional features of AlexNet and ZFNet, and the fully connected heads of AlexNet, ZFNet and VGG as torchvision builds them.</summary>
internal static class Classifier
{
    /// <summary>
    /// AlexNet's and ZFNet's five convolutions (published channels, kernel, stride, padding), each followed by ReLU;
    /// LRN (size 5, α 1e-4, β 0.75, k 2) and 3×3/2 max pooling (padding <paramref name="earlyPoolPadding"/>) after the
    /// first two, 3×3/2 max pooling after the last. Nodes <c>features.0</c> … <c>features.12</c> as torchvision numbers
    /// them, the LRNs <c>features.lrn1/2</c>.
    /// </summary>
    public static string Features(ZooGraph g, (int Channels, int Kernel, int Stride, int Padding)[] convolutions, int earlyPoolPadding)
    {
        string x = g.Input;
        int index = 0;
        for (int k = 0; k < convolutions.Length; k++)
        {
            var (channels, kernel, stride, padding) = convolutions[k];
            x = g.Conv($"features.{index++}", x, g.Width(channels), kernel, stride, padding);
            x = g.Relu($"features.{index++}", x);
            if (k < 2)
            {
                x = g.Add($"features.lrn{k + 1}", new LocalResponseNorm(5, 1e-4f, 0.75f, 2f), x);
                x = g.MaxPool($"features.{index++}", x, 3, 2, earlyPoolPadding);
            }
            else if (k == convolutions.Length - 1)
            {
                x = g.MaxPool($"features.{index++}", x, 3, 2);
            }
        }
        return x;
    }

    /// <summary>
    /// <c>avgpool</c> = AdaptiveAvgPool2d(pooled×pooled) → flatten → the three-layer classifier. AlexNet's
    /// (<paramref name="dropoutFirst"/>): Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear (indices 0–6).
    /// VGG's: Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear.
    /// </summary>
    public static NetworkGraph TorchvisionHead(ZooGraph g, string x, int pooledSize, int hidden, bool dropoutFirst)
    {
        x = g.Add("avgpool", new AdaptiveAvgPool2d(pooledSize, pooledSize), x);
        x = g.Add("flatten", new Flatten(), x);
        int i = 0;
        for (int layer = 0; layer < 2; layer++)
        {
            if (dropoutFirst) x = g.Add($"classifier.{i++}", new Dropout(0.5f), x);
            x = g.Linear($"classifier.{i++}", x, hidden);
            x = g.Relu($"classifier.{i++}", x);
            if (!dropoutFirst) x = g.Add($"classifier.{i++}", new Dropout(0.5f), x);
        }
        return g.Finish(g.Linear($"classifier.{i}", x, g.Options.Classes));
    }
}
