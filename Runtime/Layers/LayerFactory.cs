using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Init;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>Creates a layer from its type name and attributes, as written by <see cref="Layer.Attributes"/>.
/// Any missing or ill-typed attribute raises <see cref="FormatException"/> naming it.</summary>
public static class LayerFactory
{
    public static Layer Create(string type, JsonObject attributes) => type switch
    {
        "Linear" => new Linear(Int(attributes, "inFeatures"), Int(attributes, "outFeatures"), Bool(attributes, "bias"),
            Init(attributes, "weightInit"), Init(attributes, "biasInit")),
        "Conv2d" => new Conv2d(Int(attributes, "inChannels"), Int(attributes, "outChannels"), Window(attributes), Bool(attributes, "bias"),
            Init(attributes, "weightInit"), Init(attributes, "biasInit"), attributes.ContainsKey("groups") ? Int(attributes, "groups") : 1),
        "MaxPool2d" => new MaxPool2d(Window(attributes)),
        "AvgPool2d" => new AvgPool2d(Window(attributes), Bool(attributes, "countIncludePad")),
        "ReLU" => Activation.ReLU(),
        "Sigmoid" => Activation.Sigmoid(),
        "Tanh" => Activation.Tanh(),
        "LeakyReLU" => Activation.LeakyReLU(Float(attributes, "negativeSlope")),
        "ReLU6" => Activation.ReLU6(),
        "SiLU" => Activation.SiLU(),
        "HardSigmoid" => Activation.HardSigmoid(),
        "HardSwish" => Activation.HardSwish(),
        "Softmax" => new Softmax(),
        "LocalResponseNorm" => new LocalResponseNorm(Int(attributes, "size"), Float(attributes, "alpha"), Float(attributes, "beta"), Float(attributes, "k")),
        "GlobalAvgPool2d" => new GlobalAvgPool2d(),
        "GlobalMaxPool2d" => new GlobalMaxPool2d(),
        "Flatten" => new Flatten(),
        "Add" => new Add(Int(attributes, "inputCount")),
        "Concat" => new Concat(Int(attributes, "inputCount")),
        "ChannelMultiply" => new ChannelMultiply(),
        "BatchNorm1d" => new BatchNorm1d(Int(attributes, "numFeatures"), Float(attributes, "eps"), Float(attributes, "momentum")),
        "BatchNorm2d" => new BatchNorm2d(Int(attributes, "numFeatures"), Float(attributes, "eps"), Float(attributes, "momentum")),
        "Dropout" => new Dropout(Float(attributes, "p")),
        "AdaptiveAvgPool2d" => new AdaptiveAvgPool2d(Ints(attributes, "outputSize", 2)[0], Ints(attributes, "outputSize", 2)[1]),
        "ChannelPad" => new ChannelPad(Int(attributes, "outChannels")),
        "FractalJoin" => new FractalJoin(FractalColumns(attributes), Int(attributes, "columnCount"),
            Float(attributes, "localDropProbability"), Float(attributes, "globalFraction")),
        "StochasticDepth" => new StochasticDepth(Float(attributes, "p")),
        "ShakeShake" => new ShakeShake(),
        "ShakeDrop" => new ShakeDrop(Float(attributes, "p"), Float(attributes, "alphaLow"), Float(attributes, "alphaHigh"),
            Float(attributes, "betaLow"), Float(attributes, "betaHigh")),
        "Swapout" => new Swapout(Float(attributes, "identityDropProbability"), Float(attributes, "branchDropProbability")),
        "Upsample" => UpsampleOf(attributes),
        _ => throw new FormatException($"unknown layer type '{type}'"),
    };

    static Window2d Window(JsonObject a)
    {
        int[] kernel = Ints(a, "kernelSize", 2), stride = Ints(a, "stride", 2), padding = Ints(a, "padding", 4), dilation = Ints(a, "dilation", 2);
        var window = new Window2d(kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], padding[2], padding[3], dilation[0], dilation[1]);
        window.Validate("window");
        return window;
    }

    static int Int(JsonObject a, string name) =>
        a[name] is JsonValue v && v.TryGetValue(out int i) ? i : throw new FormatException($"attribute '{name}' must be an integer");

    static bool Bool(JsonObject a, string name) =>
        a[name] is JsonValue v && v.TryGetValue(out bool b) ? b : throw new FormatException($"attribute '{name}' must be true or false");

    static float Float(JsonObject a, string name) =>
        a[name] is JsonValue v && (v.TryGetValue(out float f) || (v.TryGetValue(out double d) && (f = (float)d) == f))
            ? f : throw new FormatException($"attribute '{name}' must be a number");

    /// <summary>An initializer by name (<see cref="Initializer.Parse"/>); absent in files written before initializers
    /// were recorded, which meant PyTorch's default (null).</summary>
    static Initializer? Init(JsonObject a, string name) => a[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? text) => Initializer.Parse(text),
        _ => throw new FormatException($"attribute '{name}' must be an initializer name"),
    };

    /// <summary>Upsample: mode "bilinear" and exactly one of size [H, W] (integers) or scaleFactor [h, w] (numbers).</summary>
    static Upsample UpsampleOf(JsonObject a)
    {
        if (!(a["mode"] is JsonValue mode && mode.TryGetValue(out string? name) && name == Upsample.Bilinear))
            throw new FormatException($"attribute 'mode' must be \"{Upsample.Bilinear}\"");
        if (a.ContainsKey("size") == a.ContainsKey("scaleFactor"))
            throw new FormatException("Upsample needs exactly one of the attributes 'size' and 'scaleFactor'");
        if (a.ContainsKey("size"))
        {
            int[] size = Ints(a, "size", 2);
            return new Upsample(size[0], size[1]);
        }
        if (a["scaleFactor"] is JsonArray { Count: 2 } factors && Number(factors[0]) is float height && Number(factors[1]) is float width)
            return Upsample.WithScaleFactor(height, width);
        throw new FormatException("attribute 'scaleFactor' must be an array of 2 numbers");

        // a float written by Attributes() or a double read from JSON text
        static float? Number(JsonNode? node) => node is JsonValue v && (v.TryGetValue(out float f) || (v.TryGetValue(out double d) && float.IsFinite(f = (float)d))) ? f : null;
    }

    /// <summary>FractalJoin's input columns: an array of at least two integers.</summary>
    static int[] FractalColumns(JsonObject a) =>
        a["columns"] is JsonArray { Count: >= 2 } array ? Ints(a, "columns", array.Count) : throw new FormatException("attribute 'columns' must be an array of at least 2 integers");

    static int[] Ints(JsonObject a, string name, int count)
    {
        if (a[name] is not JsonArray array || array.Count != count)
            throw new FormatException($"attribute '{name}' must be an array of {count} integers");
        var values = new int[count];
        for (int i = 0; i < count; i++)
            values[i] = array[i] is JsonValue v && v.TryGetValue(out int x) ? x : throw new FormatException($"attribute '{name}' must be an array of {count} integers");
        return values;
    }
}
