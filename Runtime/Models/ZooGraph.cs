using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// What the zoo builders share: a <see cref="NetworkGraph"/> being built, the shape (batch 1) of every tensor so far
/// (so a builder asks for a tensor's channels instead of threading counts through, and a size that does not fit fails
/// at the node that cannot take it), the width scaling of <see cref="ModelOptions.WidthDivisor"/>, and the small
/// blocks every family uses (conv → batch norm → ReLU, PyTorch's ceil-mode max pooling, a classifier head).
/// Node names follow torchvision's module paths, so parameter names equal torchvision's state-dict keys
/// (<c>layer1.0.conv1.weight</c>).
/// </summary>
internal sealed class ZooGraph
{
    readonly Dictionary<string, TensorShape> shapes = new(StringComparer.Ordinal);

    public ZooGraph(ModelOptions options)
        : this(options, "input", new TensorShape(options.InputChannels, options.ImageSize, options.ImageSize)) { }

    /// <summary>A graph whose input <paramref name="inputName"/> has any per-item shape (a block built on its own, see <see cref="ZooBlocks"/>).</summary>
    public ZooGraph(ModelOptions options, string inputName, TensorShape itemShape)
    {
        Options = options;
        Input = Graph.AddInput(inputName, itemShape);
        shapes[Input] = itemShape.PrependBatch(1);
    }

    public NetworkGraph Graph { get; } = new();
    public ModelOptions Options { get; }
    /// <summary>The image input, (C,H,W) per item.</summary>
    public string Input { get; }

    /// <summary>A published channel count scaled down by <see cref="ModelOptions.WidthDivisor"/> (at least 1).</summary>
    public int Width(int channels) => Math.Max(1, channels / Options.WidthDivisor);

    /// <summary>Appends a node and infers its shape at once (the message names the node and both shapes).</summary>
    public string Add(string name, Layer layer, params string[] inputs)
    {
        Graph.Add(name, layer, inputs);
        var inputShapes = new TensorShape[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) inputShapes[i] = shapes[inputs[i]];
        try
        {
            shapes[name] = layer.InferOutputShape(name, inputShapes);
        }
        catch (ShapeException e) when (e is not GraphException)
        {
            throw new GraphException(e.Message.StartsWith(name + ":", StringComparison.Ordinal) ? e.Message : $"{name}: {e.Message}");
        }
        return name;
    }

    /// <summary>Shape of tensor <paramref name="x"/> for one item, batch axis included (N = 1).</summary>
    public TensorShape Shape(string x) => shapes[x];
    /// <summary>Channels (or features) of tensor <paramref name="x"/>.</summary>
    public int Channels(string x) => shapes[x][1];

    /// <summary>A square convolution of <paramref name="x"/> to <paramref name="outChannels"/> channels.</summary>
    public string Conv(string name, string x, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true, int groups = 1) =>
        Add(name, new Conv2d(Channels(x), outChannels, kernelSize, stride, padding, bias, groups: groups), x);

    /// <summary>A convolution with any window (1×7, 7×1 …).</summary>
    public string Conv(string name, string x, int outChannels, Window2d window, bool bias = true) =>
        Add(name, new Conv2d(Channels(x), outChannels, window, bias), x);

    public string BatchNorm(string name, string x, float eps = Layers.BatchNorm.DefaultEpsilon) =>
        Add(name, new BatchNorm2d(Channels(x), eps), x);

    public string Relu(string name, string x) => Add(name, Activation.ReLU(), x);

    /// <summary>Conv (no bias) → BatchNorm2d → activation (ReLU unless given), named <c>{conv}</c>, <c>{bn}</c>, <c>{prefix}.relu</c>.</summary>
    public string ConvBnAct(string conv, string bn, string act, string x, int outChannels, int kernelSize, int stride = 1, int padding = 0,
        int groups = 1, float eps = Layers.BatchNorm.DefaultEpsilon, Activation? activation = null)
    {
        x = Conv(conv, x, outChannels, kernelSize, stride, padding, bias: false, groups: groups);
        x = BatchNorm(bn, x, eps);
        return Add(act, activation ?? Activation.ReLU(), x);
    }

    /// <summary>
    /// PyTorch's <c>MaxPool2d(kernel, stride, padding, ceil_mode)</c>. Ceil mode (GoogLeNet, SqueezeNet) rounds the
    /// output size up, keeping the last window only if it starts inside the input or the left padding; windows that
    /// run past the edge take the max of what they cover. That is exactly max pooling with extra bottom/right
    /// padding (padding counts as −∞), which is how it is built here, computed from the input size.
    /// </summary>
    public string MaxPool(string name, string x, int kernelSize, int stride, int padding = 0, bool ceilMode = false)
    {
        if (!ceilMode) return Add(name, new MaxPool2d(kernelSize, stride, padding), x);
        var shape = Shape(x);
        int extraBottom = CeilExtra(shape.H, kernelSize, stride, padding), extraRight = CeilExtra(shape.W, kernelSize, stride, padding);
        return Add(name, new MaxPool2d(new Window2d(kernelSize, kernelSize, stride, stride, padding, padding, padding + extraBottom, padding + extraRight)), x);
    }

    static int CeilExtra(int input, int kernel, int stride, int padding)
    {
        // PyTorch's pooling_output_shape with ceil_mode: ⌊(in + 2p − k + s − 1)/s⌋ + 1 (rounding down, even below zero)
        int output = (int)Math.Floor((double)(input + 2 * padding - kernel + stride - 1) / stride) + 1;
        if ((output - 1) * stride >= input + padding) output--; // the last window must start inside the input or the left padding
        if (output < 1) return 0; // too small either way: the layer's shape check reports it
        return Math.Max(0, (output - 1) * stride + kernel - (input + 2 * padding));
    }

    /// <summary>Flatten → Linear to <paramref name="outFeatures"/>.</summary>
    public string Linear(string name, string x, int outFeatures) => Add(name, new Layers.Linear(Channels(x), outFeatures), x);

    /// <summary>Global average pooling → Flatten: (N,C,H,W) → (N,C), named <c>{pool}</c> and <c>flatten</c>-suffixed.</summary>
    public string GlobalAveragePool(string pool, string x) =>
        Add(pool + ".flatten", new Flatten(), Add(pool, new GlobalAvgPool2d(), x));

    /// <summary>The finished graph, its output set to <paramref name="output"/>.</summary>
    public NetworkGraph Finish(string output)
    {
        Graph.Output = output;
        return Graph;
    }
}
