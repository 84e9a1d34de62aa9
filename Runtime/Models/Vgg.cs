using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// VGG (Simonyan &amp; Zisserman, 2014) without batch norm, torchvision's layout: 3×3 convolutions (padding 1) with
/// ReLU, 2×2 max pooling between stages, <c>AdaptiveAvgPool2d(7×7)</c>, and the classifier Linear(512·7·7, 4096) →
/// ReLU → Dropout → Linear(4096, 4096) → ReLU → Dropout → Linear(4096, classes). Input (C,S,S), S ≥ 32.
/// </summary>
public static class Vgg
{
    /// <summary>Configuration A (VGG-11): channels per convolution, 0 = max pooling.</summary>
    static readonly int[] Vgg11Layers = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
    /// <summary>Configuration D (VGG-16).</summary>
    static readonly int[] Vgg16Layers = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    /// <summary>VGG-11 (configuration A) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 132,863,336 parameters, as torchvision's <c>vgg11</c>.</summary>
    public static NetworkGraph Build11(ModelOptions options) => Build(options, Vgg11Layers);
    /// <summary>VGG-16 (configuration D) for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 138,357,544 parameters, as torchvision's <c>vgg16</c>.</summary>
    public static NetworkGraph Build16(ModelOptions options) => Build(options, Vgg16Layers);

    static NetworkGraph Build(ModelOptions options, int[] layers)
    {
        var g = new ZooGraph(options);
        string x = g.Input;
        int index = 0; // torchvision's index in its features Sequential: conv, relu, conv, relu, pool …
        foreach (int channels in layers)
        {
            if (channels == 0)
            {
                x = g.MaxPool($"features.{index++}", x, 2, 2);
                continue;
            }
            x = g.Conv($"features.{index++}", x, g.Width(channels), kernelSize: 3, padding: 1);
            x = g.Relu($"features.{index++}", x);
        }
        return Classifier.TorchvisionHead(g, x, pooledSize: 7, hidden: g.Width(4096), dropoutFirst: false);
    }
}
