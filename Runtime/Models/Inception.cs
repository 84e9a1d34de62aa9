using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// GoogLeNet (Inception v1, Szegedy et al., 2014) exactly as torchvision builds it, auxiliary heads included: every
/// convolution is torchvision's BasicConv2d (conv without bias → BatchNorm2d ε = 0.001 → ReLU), max pooling uses
/// ceil mode, and the "5×5" branch uses a 3×3 kernel (torchvision's long-standing choice, kept so the weights and the
/// parameter count match). Input (C,S,S), S ≥ 15; main output <c>fc</c> (classes).
/// <para>The auxiliary classifiers <c>aux1</c> (on inception4a) and <c>aux2</c> (on inception4d) are
/// AdaptiveAvgPool2d(4×4) → BasicConv2d 1×1 (128) → flatten → fc1 (1024) → ReLU → Dropout(0.7) → fc2 (classes).
/// Their logits, <see cref="AuxiliaryOutputs"/>, are graph nodes off the path to <see cref="NetworkGraph.Output"/>,
/// registered as <see cref="NetworkGraph.AuxiliaryOutputs"/> with weight <see cref="AuxiliaryWeight"/> (torchvision's
/// and the paper's 0.3): training adds <c>0.3·(aux1 + aux2)</c> to the loss, inference plans skip the heads.</para>
/// </summary>
public static class GoogLeNet
{
    /// <summary>Node names of the auxiliary logits (N,classes), in the order of torchvision's outputs (aux2, aux1 → here aux1, aux2).</summary>
    public static readonly IReadOnlyList<string> AuxiliaryOutputs = ["aux1.fc2", "aux2.fc2"];

    /// <summary>Loss weight of each auxiliary head (torchvision's training reference: <c>loss + 0.3·aux1 + 0.3·aux2</c>).</summary>
    public const float AuxiliaryWeight = 0.3f;

    /// <summary>GoogLeNet with both auxiliary heads for <paramref name="options"/>; at <see cref="ModelOptions.ImageNet"/> 13,004,888 parameters, as torchvision's <c>googlenet(aux_logits=True)</c>.</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = BasicConv(g, "conv1", g.Input, 64, 7, stride: 2, padding: 3);
        x = g.MaxPool("maxpool1", x, 3, 2, ceilMode: true);
        x = BasicConv(g, "conv2", x, 64, 1);
        x = BasicConv(g, "conv3", x, 192, 3, padding: 1);
        x = g.MaxPool("maxpool2", x, 3, 2, ceilMode: true);
        x = Block(g, "inception3a", x, 64, 96, 128, 16, 32, 32);
        x = Block(g, "inception3b", x, 128, 128, 192, 32, 96, 64);
        x = g.MaxPool("maxpool3", x, 3, 2, ceilMode: true);
        x = Block(g, "inception4a", x, 192, 96, 208, 16, 48, 64);
        Auxiliary(g, "aux1", x);
        x = Block(g, "inception4b", x, 160, 112, 224, 24, 64, 64);
        x = Block(g, "inception4c", x, 128, 128, 256, 24, 64, 64);
        x = Block(g, "inception4d", x, 112, 144, 288, 32, 64, 64);
        Auxiliary(g, "aux2", x);
        x = Block(g, "inception4e", x, 256, 160, 320, 32, 128, 128);
        x = g.MaxPool("maxpool4", x, 2, 2, ceilMode: true);
        x = Block(g, "inception5a", x, 256, 160, 320, 32, 128, 128);
        x = Block(g, "inception5b", x, 384, 192, 384, 48, 128, 128);
        x = g.GlobalAveragePool("avgpool", x);
        x = g.Add("dropout", new Dropout(0.2f), x);
        var graph = g.Finish(g.Linear("fc", x, options.Classes));
        foreach (string aux in AuxiliaryOutputs) graph.AddAuxiliaryOutput(aux, AuxiliaryWeight);
        return graph;
    }

    /// <summary>torchvision's BasicConv2d: <c>{name}.conv</c> (no bias) → <c>{name}.bn</c> (ε = 0.001) → ReLU; channels are published widths.</summary>
    internal static string BasicConv(ZooGraph g, string name, string x, int channels, int kernelSize, int stride = 1, int padding = 0) =>
        g.ConvBnAct($"{name}.conv", $"{name}.bn", $"{name}.relu", x, g.Width(channels), kernelSize, stride, padding, eps: 1e-3f);

    /// <summary>BasicConv2d with a rectangular kernel (Inception v3's 1×7, 7×1, 1×3, 3×1) and "same" padding.</summary>
    internal static string BasicConv(ZooGraph g, string name, string x, int channels, int kernelHeight, int kernelWidth)
    {
        var window = new Window2d(kernelHeight, kernelWidth, 1, 1, kernelHeight / 2, kernelWidth / 2, kernelHeight / 2, kernelWidth / 2);
        x = g.Conv($"{name}.conv", x, g.Width(channels), window, bias: false);
        x = g.BatchNorm($"{name}.bn", x, 1e-3f);
        return g.Relu($"{name}.relu", x);
    }

    /// <summary>An Inception module: 1×1 | 1×1 → 3×3 | 1×1 → 3×3 | max pool 3×3/1 → 1×1, concatenated along channels.</summary>
    internal static string Block(ZooGraph g, string name, string x, int ch1x1, int ch3x3Reduce, int ch3x3, int ch5x5Reduce, int ch5x5, int poolProjection)
    {
        string b1 = BasicConv(g, $"{name}.branch1", x, ch1x1, 1);
        string b2 = BasicConv(g, $"{name}.branch2.1", BasicConv(g, $"{name}.branch2.0", x, ch3x3Reduce, 1), ch3x3, 3, padding: 1);
        string b3 = BasicConv(g, $"{name}.branch3.1", BasicConv(g, $"{name}.branch3.0", x, ch5x5Reduce, 1), ch5x5, 3, padding: 1);
        string b4 = BasicConv(g, $"{name}.branch4.1", g.MaxPool($"{name}.branch4.0", x, 3, 1, padding: 1, ceilMode: true), poolProjection, 1);
        return g.Add(name, new Concat(4), b1, b2, b3, b4);
    }

    /// <summary>torchvision's InceptionAux; returns the auxiliary logits' node.</summary>
    static string Auxiliary(ZooGraph g, string name, string x)
    {
        x = g.Add($"{name}.pool", new AdaptiveAvgPool2d(4, 4), x);
        x = BasicConv(g, $"{name}.conv", x, 128, 1);
        x = g.Add($"{name}.flatten", new Flatten(), x);
        x = g.Relu($"{name}.relu", g.Linear($"{name}.fc1", x, g.Width(1024)));
        x = g.Add($"{name}.dropout", new Dropout(0.7f), x);
        return g.Linear($"{name}.fc2", x, g.Options.Classes);
    }
}

/// <summary>
/// Inception v3 (Szegedy et al., 2015) exactly as torchvision builds it, with its auxiliary head: BasicConv2d
/// everywhere (conv without bias → BatchNorm2d ε = 0.001 → ReLU), factorized 1×7/7×1 and 1×3/3×1 convolutions,
/// the grid reductions Mixed_6a/Mixed_7a, global average pooling → Dropout(0.5) → fc. Input (C,S,S), S ≥ 299: the auxiliary
/// head's 5×5/3 average pooling and 5×5 convolution need the 17×17 grid of a 299 input (torchvision's "75" holds
/// only in eval mode, where it skips the head); main output <c>fc</c> (classes).
/// <para><c>AuxLogits</c> (on Mixed_6e: avg pool 5×5/3 → BasicConv 1×1 (128) → BasicConv 5×5 (768) → global average
/// pool → fc (classes)) is a node off the path to the output, registered as an auxiliary output with weight
/// <see cref="AuxiliaryWeight"/>, like GoogLeNet's; see <see cref="GoogLeNet"/>.</para>
/// </summary>
public static class InceptionV3
{
    /// <summary>Node name of the auxiliary logits (N,classes).</summary>
    public static readonly IReadOnlyList<string> AuxiliaryOutputs = ["AuxLogits.fc"];

    /// <summary>Loss weight of the auxiliary head (torchvision's reference training script: <c>loss + 0.4·aux</c>).</summary>
    public const float AuxiliaryWeight = 0.4f;

    /// <summary>Inception v3 with its auxiliary head for <paramref name="options"/> (image size ≥ 299); at <c>ModelOptions.ImageNet(299)</c> 27,161,264 parameters, as torchvision's <c>inception_v3(aux_logits=True)</c>.</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = Conv(g, "Conv2d_1a_3x3", g.Input, 32, 3, stride: 2);
        x = Conv(g, "Conv2d_2a_3x3", x, 32, 3);
        x = Conv(g, "Conv2d_2b_3x3", x, 64, 3, padding: 1);
        x = g.MaxPool("maxpool1", x, 3, 2);
        x = Conv(g, "Conv2d_3b_1x1", x, 80, 1);
        x = Conv(g, "Conv2d_4a_3x3", x, 192, 3);
        x = g.MaxPool("maxpool2", x, 3, 2);
        x = BlockA(g, "Mixed_5b", x, 32);
        x = BlockA(g, "Mixed_5c", x, 64);
        x = BlockA(g, "Mixed_5d", x, 64);
        x = BlockB(g, "Mixed_6a", x);
        x = BlockC(g, "Mixed_6b", x, 128);
        x = BlockC(g, "Mixed_6c", x, 160);
        x = BlockC(g, "Mixed_6d", x, 160);
        x = BlockC(g, "Mixed_6e", x, 192);
        Auxiliary(g, "AuxLogits", x);
        x = BlockD(g, "Mixed_7a", x);
        x = BlockE(g, "Mixed_7b", x);
        x = BlockE(g, "Mixed_7c", x);
        x = g.GlobalAveragePool("avgpool", x);
        x = g.Add("dropout", new Dropout(0.5f), x);
        var graph = g.Finish(g.Linear("fc", x, options.Classes));
        foreach (string aux in AuxiliaryOutputs) graph.AddAuxiliaryOutput(aux, AuxiliaryWeight);
        return graph;
    }

    static string Conv(ZooGraph g, string name, string x, int channels, int kernelSize, int stride = 1, int padding = 0) =>
        GoogLeNet.BasicConv(g, name, x, channels, kernelSize, stride, padding);

    static string Conv(ZooGraph g, string name, string x, int channels, int kernelHeight, int kernelWidth) =>
        GoogLeNet.BasicConv(g, name, x, channels, kernelHeight, kernelWidth);

    /// <summary>Average pooling 3×3/1, padding 1 (counting the padding, PyTorch's default) → BasicConv 1×1: the pool branch of A, C, E.</summary>
    static string PoolBranch(ZooGraph g, string name, string x, int channels) =>
        Conv(g, $"{name}.branch_pool", g.Add($"{name}.avg_pool", new AvgPool2d(3, 1, 1), x), channels, 1);

    static string BlockA(ZooGraph g, string name, string x, int poolFeatures)
    {
        string b1 = Conv(g, $"{name}.branch1x1", x, 64, 1);
        string b5 = Conv(g, $"{name}.branch5x5_2", Conv(g, $"{name}.branch5x5_1", x, 48, 1), 64, 5, padding: 2);
        string b3 = Conv(g, $"{name}.branch3x3dbl_1", x, 64, 1);
        b3 = Conv(g, $"{name}.branch3x3dbl_2", b3, 96, 3, padding: 1);
        b3 = Conv(g, $"{name}.branch3x3dbl_3", b3, 96, 3, padding: 1);
        return g.Add(name, new Concat(4), b1, b5, b3, PoolBranch(g, name, x, poolFeatures));
    }

    static string BlockB(ZooGraph g, string name, string x)
    {
        string b3 = Conv(g, $"{name}.branch3x3", x, 384, 3, stride: 2);
        string d = Conv(g, $"{name}.branch3x3dbl_1", x, 64, 1);
        d = Conv(g, $"{name}.branch3x3dbl_2", d, 96, 3, padding: 1);
        d = Conv(g, $"{name}.branch3x3dbl_3", d, 96, 3, stride: 2);
        return g.Add(name, new Concat(3), b3, d, g.MaxPool($"{name}.max_pool", x, 3, 2));
    }

    static string BlockC(ZooGraph g, string name, string x, int c7)
    {
        string b1 = Conv(g, $"{name}.branch1x1", x, 192, 1);
        string b7 = Conv(g, $"{name}.branch7x7_1", x, c7, 1);
        b7 = Conv(g, $"{name}.branch7x7_2", b7, c7, 1, 7);
        b7 = Conv(g, $"{name}.branch7x7_3", b7, 192, 7, 1);
        string d = Conv(g, $"{name}.branch7x7dbl_1", x, c7, 1);
        d = Conv(g, $"{name}.branch7x7dbl_2", d, c7, 7, 1);
        d = Conv(g, $"{name}.branch7x7dbl_3", d, c7, 1, 7);
        d = Conv(g, $"{name}.branch7x7dbl_4", d, c7, 7, 1);
        d = Conv(g, $"{name}.branch7x7dbl_5", d, 192, 1, 7);
        return g.Add(name, new Concat(4), b1, b7, d, PoolBranch(g, name, x, 192));
    }

    static string BlockD(ZooGraph g, string name, string x)
    {
        string b3 = Conv(g, $"{name}.branch3x3_2", Conv(g, $"{name}.branch3x3_1", x, 192, 1), 320, 3, stride: 2);
        string b7 = Conv(g, $"{name}.branch7x7x3_1", x, 192, 1);
        b7 = Conv(g, $"{name}.branch7x7x3_2", b7, 192, 1, 7);
        b7 = Conv(g, $"{name}.branch7x7x3_3", b7, 192, 7, 1);
        b7 = Conv(g, $"{name}.branch7x7x3_4", b7, 192, 3, stride: 2);
        return g.Add(name, new Concat(3), b3, b7, g.MaxPool($"{name}.max_pool", x, 3, 2));
    }

    static string BlockE(ZooGraph g, string name, string x)
    {
        string b1 = Conv(g, $"{name}.branch1x1", x, 320, 1);
        string b3 = Conv(g, $"{name}.branch3x3_1", x, 384, 1);
        b3 = g.Add($"{name}.branch3x3", new Concat(),
            Conv(g, $"{name}.branch3x3_2a", b3, 384, 1, 3), Conv(g, $"{name}.branch3x3_2b", b3, 384, 3, 1));
        string d = Conv(g, $"{name}.branch3x3dbl_1", x, 448, 1);
        d = Conv(g, $"{name}.branch3x3dbl_2", d, 384, 3, padding: 1);
        d = g.Add($"{name}.branch3x3dbl", new Concat(),
            Conv(g, $"{name}.branch3x3dbl_3a", d, 384, 1, 3), Conv(g, $"{name}.branch3x3dbl_3b", d, 384, 3, 1));
        return g.Add(name, new Concat(4), b1, b3, d, PoolBranch(g, name, x, 192));
    }

    static string Auxiliary(ZooGraph g, string name, string x)
    {
        x = g.Add($"{name}.avg_pool", new AvgPool2d(5, 3), x);
        x = Conv(g, $"{name}.conv0", x, 128, 1);
        x = Conv(g, $"{name}.conv1", x, 768, 5);
        x = g.GlobalAveragePool($"{name}.pool", x);
        return g.Linear($"{name}.fc", x, g.Options.Classes);
    }
}
