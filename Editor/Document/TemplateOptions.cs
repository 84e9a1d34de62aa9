using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Document;

/// <summary>A set of data a model template can be sized for: its id, its label, and the input channels, image size and
/// class count it gives (<c>reference</c>: the configuration the model was published for).</summary>
internal sealed record TemplateDataset(string Id, string Label, Func<string, (int Channels, int Size, int Classes)> Shape);

/// <summary>
/// What a model template is built for: the zoo's <see cref="ModelOptions"/> (input channels, the image size the model is
/// built for, classes, width divisor) and <see cref="InputSize"/>, the size of the images the document's Input takes.
/// When the two sizes differ, a bilinear resize node (<see cref="InputResize"/>, the one <c>neuro train --image-size</c>
/// adds) sits between the Input and the model, so a model that needs larger images (AlexNet: 63×63) trains on
/// Fashion-MNIST's 28×28 images. Field names are the protocol's (<c>inputChannels</c>, <c>inputSize</c>,
/// <c>imageSize</c>, <c>classes</c>, <c>widthDivisor</c>); every refusal is a <see cref="DocumentCommandException"/>
/// whose <see cref="DocumentCommandException.Field"/> names the field.
/// </summary>
internal sealed record TemplateOptions(ModelOptions Model, int InputSize)
{
    /// <summary>Upper bounds of the fields (each at least 1): beyond them a template is not a network anyone trains here.</summary>
    public const int MaxChannels = 4096, MaxSize = 4096, MaxClasses = 1_000_000, MaxWidthDivisor = 1024;

    /// <summary>The presets a template dialog offers, in this order: the published configuration and Fashion-MNIST
    /// (1×28×28, 10 classes, from <see cref="FashionMnist"/>).</summary>
    public static IReadOnlyList<TemplateDataset> Datasets { get; } =
    [
        new("reference", "as published", template =>
        {
            var o = ModelZoo.ReferenceOptions(template);
            return (o.InputChannels, o.ImageSize, o.Classes);
        }),
        new("fashion-mnist", "Fashion-MNIST", _ => (1, FashionMnist.ImageSize, FashionMnist.ClassCount)),
    ];

    /// <summary>The configuration <paramref name="template"/> was published for, without a resize.</summary>
    public static TemplateOptions Reference(string template) => new(ModelZoo.ReferenceOptions(template), ModelZoo.ReferenceOptions(template).ImageSize);

    /// <summary>
    /// Options for model <paramref name="template"/>: the <paramref name="dataset"/> preset (default <c>reference</c>),
    /// then every field <paramref name="fields"/> gives. <c>inputSize</c> defaults to <c>imageSize</c> when only that is
    /// given (a model and its input of one size), else to the preset's size. <c>imageSize</c> defaults to
    /// <c>inputSize</c>, or with <paramref name="fitImageSize"/> to the smallest size from <c>inputSize</c> up that the
    /// model accepts (what a dialog proposes; a command is taken literally).
    /// </summary>
    public static TemplateOptions Resolve(string template, string? dataset, JsonObject? fields, bool fitImageSize = false)
    {
        var preset = Datasets.FirstOrDefault(d => d.Id == (dataset ?? "reference"))
            ?? throw new DocumentCommandException($"dataset: unknown dataset '{dataset}'; known: {string.Join(", ", Datasets.Select(d => d.Id))}", "dataset");
        string? unknown = fields?.Select(f => f.Key).FirstOrDefault(k => Array.IndexOf(FieldNames, k) < 0);
        if (unknown is not null) throw new DocumentCommandException($"options: unknown field '{unknown}'; known: {string.Join(", ", FieldNames)}", unknown);
        var (channels, size, classes) = preset.Shape(template);
        int? imageSize = Field(fields, "imageSize", MaxSize);
        int inputChannels = Field(fields, "inputChannels", MaxChannels) ?? channels;
        int inputSize = Field(fields, "inputSize", MaxSize) ?? imageSize ?? size;
        var model = new ModelOptions(inputChannels, imageSize ?? inputSize, Field(fields, "classes", MaxClasses) ?? classes,
            Field(fields, "widthDivisor", MaxWidthDivisor) ?? 1);
        if (imageSize is null && fitImageSize && ModelZoo.SmallestImageSize(template, model) is int smallest)
            model = model with { ImageSize = smallest };
        return new TemplateOptions(model, inputSize);
    }

    /// <summary>The fields of the protocol's <c>options</c> object.</summary>
    public static readonly string[] FieldNames = ["inputChannels", "inputSize", "imageSize", "classes", "widthDivisor"];

    /// <summary>True when a resize node goes between the Input and the model.</summary>
    public bool Resizes => InputSize != Model.ImageSize;

    /// <summary>The runtime graph of <paramref name="template"/> for these options: the zoo's model, behind a resize from
    /// <see cref="InputSize"/> when it differs. Images too small for the model are refused naming <c>imageSize</c> and
    /// the smallest size the model takes.</summary>
    public NetworkGraph Build(string template)
    {
        NetworkGraph graph;
        try
        {
            graph = ModelZoo.Build(template, Model);
        }
        catch (ModelInputException e)
        {
            if (ModelZoo.SmallestImageSize(template, Model) is int smallest && smallest > Model.ImageSize)
                throw new DocumentCommandException(
                    $"imageSize: {e.Message}; set imageSize to {smallest} or more (the {InputSize}×{InputSize} input is resized to it)", "imageSize");
            throw new DocumentCommandException($"{template}: {e.Message}");
        }
        return Resizes ? InputResize.Prepend(graph, new TensorShape(Model.InputChannels, InputSize, InputSize)) : graph;
    }

    /// <summary>The options as the protocol writes them.</summary>
    public JsonObject ToJson() => new()
    {
        ["inputChannels"] = Model.InputChannels, ["inputSize"] = InputSize, ["imageSize"] = Model.ImageSize,
        ["classes"] = Model.Classes, ["widthDivisor"] = Model.WidthDivisor,
    };

    /// <summary>Field <paramref name="name"/> of <paramref name="fields"/>: null when absent, else an integer in 1..<paramref name="max"/>.</summary>
    static int? Field(JsonObject? fields, string name, int max)
    {
        if (fields?[name] is null) return null;
        if (fields[name] is not JsonValue v || !v.TryGetValue(out int value))
            throw new DocumentCommandException($"{name} must be an integer, got {fields[name]!.ToJsonString()}", name);
        if (value < 1 || value > max) throw new DocumentCommandException($"{name} must be 1 to {max}, got {value}", name);
        return value;
    }
}
