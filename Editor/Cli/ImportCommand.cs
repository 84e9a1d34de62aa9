using System.CommandLine;
using System.Globalization;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;

namespace NeuroPlugin.Editor.Cli;

/// <summary><c>neuro import MODEL.onnx|MODEL.neuro -o MODEL.neuro [--labels a,b,c | --labels-file FILE] [--mean … --std … [--scale S]] [--colors …]</c>:
/// converts an ONNX model (PyTorch's exporter, opsets 7–21) to a model file, or rewrites a model file, adding to what the
/// model says about itself (<see cref="ModelMetadata"/>) the class labels, the input normalization and the colour order
/// it lacks (the given options replace what the source says; the rest is kept). Unsupported ops and malformed files end
/// with one line naming the node, op and opset; options that do not fit the model, with one line naming the option.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The .onnx file, or a .neuro file to describe" };
        var output = new Option<string>("--output", "-o") { Description = "The .neuro file to write (may be the input)", Required = true };
        var labels = new Option<string?>("--labels") { Description = "Class labels, comma-separated: a,b,c" };
        var labelsFile = new Option<string?>("--labels-file") { Description = "Class labels from a text file, one per line" };
        var mean = new Option<string?>("--mean") { Description = "Input normalization mean of x/255, one value or one per channel: 0.485,0.456,0.406" };
        var std = new Option<string?>("--std") { Description = "Input normalization standard deviation of x/255, one value or one per channel" };
        var scale = new Option<float?>("--scale") { Description = "Multiplies x/255 before the mean is subtracted (255 for a model that takes 0..255); default 1" };
        var colors = new Option<string?>("--colors") { Description = "What an image input's channels are: rgb, bgr or luma" };
        var command = new Command("import", "Convert an ONNX model to a .neuro model file, adding labels and normalization")
        {
            model, output, labels, labelsFile, mean, std, scale, colors,
        };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(output)!,
            new Description(parse.GetValue(labels), parse.GetValue(labelsFile), parse.GetValue(mean), parse.GetValue(std), parse.GetValue(scale), parse.GetValue(colors))));
        return command;
    }

    /// <summary>The description options as given (null: not given).</summary>
    internal sealed record Description(string? Labels, string? LabelsFile, string? Mean, string? Std, float? Scale, string? Colors);

    static int Run(string model, string output, Description given)
    {
        using var cpu = new CpuBackend();
        using var network = InferCommand.Load(model, cpu, out var metadata);
        var described = Describe(metadata, network.Graph, given);
        ModelFile.Save(network, output, described);
        Console.WriteLine($"{model} → {output}: {network.Graph.Nodes.Count} layers, {network.ParameterCount:N0} parameters; input {described.Input}" +
            $", {(described.Labels is { } l ? $"{l.Count} labels" : "no labels")}, normalization {described.Normalization?.ToString() ?? "unknown"}");
        return 0;
    }

    /// <summary><paramref name="source"/> with the given options in place of its parts; each error names its option.</summary>
    internal static ModelMetadata Describe(ModelMetadata source, NetworkGraph graph, Description given)
    {
        var described = source;
        if (given.Colors is { } colors)
        {
            try
            {
                described = described with { Input = new InputSpecification(source.Input.ItemShape, InputSpecification.ParseColors(colors)) };
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new CliErrors.UsageException($"--colors: {e.Message}");
            }
        }
        if (given.Mean is not null || given.Std is not null || given.Scale is not null)
        {
            if (given.Mean is null || given.Std is null) throw new CliErrors.UsageException("--mean and --std go together (with --scale, optional)");
            try
            {
                described = described with { Normalization = new InputNormalization(Numbers(given.Mean, "--mean"), Numbers(given.Std, "--std"), given.Scale ?? 1f) };
            }
            catch (ArgumentException e) when (e is not CliErrors.UsageException)
            {
                throw new CliErrors.UsageException($"--mean/--std/--scale: {e.Message}");
            }
            if (!described.Normalization!.Fits(described.Input.Channels))
                throw new CliErrors.UsageException($"--mean/--std: {described.Normalization.Mean.Count} values for the {described.Input.Channels} channels of input {described.Input} (give 1 or {described.Input.Channels})");
        }
        if (given.Labels is not null && given.LabelsFile is not null) throw new CliErrors.UsageException("give --labels or --labels-file, not both");
        if ((given.Labels is { } list ? [.. list.Split(',').Select(l => l.Trim())] : given.LabelsFile is { } file ? ReadLabels(file) : null) is { } labels)
        {
            int classes = graph.InferShapes(1)[graph.Output] is { Rank: 2 } output ? output[1] : 0;
            if (labels.Length != classes)
                throw new CliErrors.UsageException(classes == 0
                    ? $"--labels: the output '{graph.Output}' is not (N,K) class scores"
                    : $"--labels: {labels.Length} labels for the {classes} classes of output '{graph.Output}'");
            described = described with { Labels = labels };
        }
        return described;
    }

    static float[] Numbers(string text, string option) =>
        text.Split(',').Select(part => float.TryParse(part.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v
            : throw new CliErrors.UsageException($"{option}: '{part.Trim()}' is not a number (give comma-separated numbers such as 0.485,0.456,0.406)")).ToArray();

    /// <summary>One label per line of <paramref name="path"/> (a trailing empty line is ignored).</summary>
    static string[] ReadLabels(string path)
    {
        if (!File.Exists(path)) throw new CliErrors.UsageException($"--labels-file: {path}: file not found");
        var lines = File.ReadAllLines(path).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return [.. lines];
    }
}
