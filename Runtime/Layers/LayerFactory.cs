using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>Creates a layer from its type name and attributes, as written by <see cref="Layer.Attributes"/>.
/// Any missing or ill-typed attribute raises <see cref="FormatException"/> naming it.</summary>
public static class LayerFactory
{
    public static Layer Create(string type, JsonObject attributes) => type switch
    {
        "Linear" => new Linear(Int(attributes, "inFeatures"), Int(attributes, "outFeatures"), Bool(attributes, "bias")),
        "Conv2d" => new Conv2d(Int(attributes, "inChannels"), Int(attributes, "outChannels"), Window(attributes), Bool(attributes, "bias")),
        "MaxPool2d" => new MaxPool2d(Window(attributes)),
        "AvgPool2d" => new AvgPool2d(Window(attributes), Bool(attributes, "countIncludePad")),
        "ReLU" => Activation.ReLU(),
        "Sigmoid" => Activation.Sigmoid(),
        "Tanh" => Activation.Tanh(),
        "Flatten" => new Flatten(),
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
