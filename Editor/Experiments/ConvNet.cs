using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>How a two-convolution block of <see cref="ConvNet.Block"/> joins its branch to its input.</summary>
internal enum BlockJoin
{
    /// <summary>No shortcut: <c>y = ReLU(F(x))</c> (a plain network's two layers).</summary>
    Plain,
    /// <summary>ResNet's identity shortcut: <c>y = ReLU(x + F(x))</c>.</summary>
    Residual,
    /// <summary>Stochastic Depth (Huang et al., 2016): <c>y = ReLU(x + b·F(x))</c>, b ~ Bernoulli(1 − p) per sample in training.</summary>
    StochasticDepth,
    /// <summary>Shake-Shake (Gastaldi, 2017): two branches, <c>y = ReLU(x + α·F₁(x) + (1 − α)·F₂(x))</c>, α ~ U(0,1) per sample.</summary>
    ShakeShake,
}

/// <summary>
/// Builds the small convolutional networks of the lineage experiments for Fashion-MNIST (input <c>image</c> (N,1,28,28),
/// output <c>fc</c> (N,10) logits) on a <see cref="NetworkGraph"/>, tracking each tensor's shape. Convolutions keep the
/// map size (padding k/2) unless strided, have no bias when batch normalization follows, and use PyTorch's default
/// initialization. Node names follow the zoo: <c>{block}.conv1</c>, <c>{block}.bn1</c>, <c>{block}.relu</c>, ….
/// </summary>
internal sealed class ConvNet
{
    readonly Dictionary<string, TensorShape> shapes = new(StringComparer.Ordinal);

    public ConvNet()
    {
        var shape = new TensorShape(1, FashionMnist.ImageSize, FashionMnist.ImageSize);
        Input = Graph.AddInput("image", shape);
        shapes[Input] = new TensorShape(1, shape[0], shape[1], shape[2]);
    }

    public NetworkGraph Graph { get; } = new();

    /// <summary>The image input's name.</summary>
    public string Input { get; }

    /// <summary>C of tensor <paramref name="x"/> (N,C,H,W).</summary>
    public int Channels(string x) => shapes[x][1];

    /// <summary>Adds a node and records its output shape (shape errors name the node).</summary>
    public string Add(string name, Layer layer, params string[] inputs)
    {
        Graph.Add(name, layer, inputs);
        shapes[name] = layer.InferOutputShape(name, inputs.Select(i => shapes[i]).ToArray());
        return name;
    }

    /// <summary>conv k×k (stride, groups; padding k/2, no bias) → BatchNorm2d, named <c>{name}.conv{index}</c>, <c>{name}.bn{index}</c>.</summary>
    public string ConvBn(string name, string x, int outChannels, int kernelSize, int stride = 1, int groups = 1, string index = "") =>
        Add($"{name}.bn{index}", new BatchNorm2d(outChannels),
            Add($"{name}.conv{index}", new Conv2d(Channels(x), outChannels, kernelSize, stride, kernelSize / 2, bias: false, groups: groups), x));

    /// <summary><see cref="ConvBn"/> → ReLU (<c>{name}.relu{index}</c>).</summary>
    public string ConvBnRelu(string name, string x, int outChannels, int kernelSize, int stride = 1, int groups = 1, string index = "") =>
        Relu($"{name}.relu{index}", ConvBn(name, x, outChannels, kernelSize, stride, groups, index));

    public string Relu(string name, string x) => Add(name, Activation.ReLU(), x);

    /// <summary>2×2 max pooling with stride 2 (halves H and W, rounding down).</summary>
    public string MaxPool(string name, string x) => Add(name, new MaxPool2d(2, 2), x);

    /// <summary>
    /// The CIFAR ResNet's basic block (He et al., 2015) with the join <paramref name="join"/>: branch conv 3×3 (stride) →
    /// BN → ReLU → conv 3×3 → BN; where the block changes the shape, the shortcut is the paper's parameter-free option A
    /// (subsampled by a 1×1 max pool with the stride, zero-padded to <paramref name="planes"/> channels). Shake-Shake has a
    /// second branch (<c>{name}.branch2.*</c>), so twice the block's parameters. <paramref name="dropProbability"/> is
    /// Stochastic Depth's p.
    /// </summary>
    public string Block(string name, string x, int planes, int stride, BlockJoin join, float dropProbability = 0.5f)
    {
        string Branch(string prefix)
        {
            string y = ConvBnRelu(prefix, x, planes, 3, stride, index: "1");
            return ConvBn(prefix, y, planes, 3, index: "2");
        }
        string branch = Branch(name);
        if (join == BlockJoin.Plain) return Relu($"{name}.relu", branch);
        string shortcut = x;
        if (stride != 1) shortcut = Add($"{name}.shortcut.subsample", new MaxPool2d(1, stride), shortcut);
        if (Channels(shortcut) != planes) shortcut = Add($"{name}.shortcut.pad", new ChannelPad(planes), shortcut);
        string sum = join switch
        {
            BlockJoin.Residual => Add($"{name}.add", new Add(), branch, shortcut),
            BlockJoin.StochasticDepth => Add($"{name}.add", new StochasticDepth(dropProbability), branch, shortcut),
            BlockJoin.ShakeShake => Add($"{name}.add", new ShakeShake(), branch, Branch($"{name}.branch2"), shortcut),
            _ => throw new ArgumentOutOfRangeException(nameof(join), join, "unknown block join"),
        };
        return Relu($"{name}.relu", sum);
    }

    /// <summary>
    /// A CIFAR-style network for 28×28 images: stem conv 3×3 (<paramref name="width"/>) → BN → ReLU → 2×2 max pool (14×14),
    /// then three stages of <paramref name="blocksPerStage"/> blocks at width, 2·width, 4·width channels (the first block
    /// of stages 2 and 3 has stride 2: 7×7, 4×4), global average pool → fc (10). Weighted layers: 6n + 2.
    /// <paramref name="dropProbability"/> is Stochastic Depth's p of the last block; earlier blocks follow the paper's
    /// linear rule <c>p_l = (l/L)·p_L</c>.
    /// </summary>
    public static NetworkGraph Staged(int width, int blocksPerStage, BlockJoin join, float dropProbability = 0.5f)
    {
        var net = new ConvNet();
        string x = net.MaxPool("pool", net.ConvBnRelu("stem", net.Input, width, 3));
        int total = 3 * blocksPerStage, index = 0;
        for (int stage = 0; stage < 3; stage++)
            for (int b = 0; b < blocksPerStage; b++)
            {
                float p = dropProbability * ++index / total;
                x = net.Block($"layer{stage + 1}.{b}", x, width << stage, b == 0 && stage > 0 ? 2 : 1, join, p);
            }
        return net.Head(x);
    }

    /// <summary>
    /// A VGG-like stack for 28×28 images: stem conv 3×3 (<paramref name="stemWidth"/>) → BN → ReLU → 2×2 max pool (14×14),
    /// then one layer per entry of <paramref name="layers"/> (channels, stride), global average pool → fc (10). A layer is a
    /// standard conv 3×3 → BN → ReLU (<c>conv{i}.*</c>), or with <paramref name="separable"/> MobileNet's depthwise-separable
    /// unit: depthwise conv 3×3 (groups = C_in, the stride) → BN → ReLU → pointwise conv 1×1 → BN → ReLU
    /// (<c>conv{i}.conv_dw</c>, <c>conv{i}.conv_pw</c>, …), whose cost per output pixel is <c>9·C_in + C_in·C_out</c>
    /// multiply-accumulates instead of <c>9·C_in·C_out</c>.
    /// </summary>
    public static NetworkGraph Stack(int stemWidth, IReadOnlyList<(int Channels, int Stride)> layers, bool separable)
    {
        var net = new ConvNet();
        string x = net.MaxPool("pool", net.ConvBnRelu("stem", net.Input, stemWidth, 3));
        for (int i = 0; i < layers.Count; i++)
        {
            var (channels, stride) = layers[i];
            string name = $"conv{i + 1}";
            x = separable
                ? net.ConvBnRelu(name, net.ConvBnRelu(name, x, net.Channels(x), 3, stride, groups: net.Channels(x), index: "_dw"), channels, 1, index: "_pw")
                : net.ConvBnRelu(name, x, channels, 3, stride);
        }
        return net.Head(x);
    }

    /// <summary>Global average pooling (<c>avgpool</c>, (N,C,1,1)) → <c>flatten</c> (N,C) → <c>fc</c> to the 10 classes; returns the finished graph.</summary>
    public NetworkGraph Head(string x)
    {
        x = Add("flatten", new Flatten(), Add("avgpool", new GlobalAvgPool2d(), x));
        Add("fc", new Linear(Channels(x), FashionMnist.ClassCount), x);
        return Graph;
    }
}
