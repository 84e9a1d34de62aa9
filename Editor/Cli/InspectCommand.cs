using System.CommandLine;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Serialization;
using NeuroPlugin.Tensors;
using Spectre.Console;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro inspect MODEL</c>: the layers of a zoo model (by name), a <c>.neuro</c> file or an <c>.onnx</c> file (imported), with each
/// node's inputs, output shape, parameter count and multiply–accumulates per item, and the totals; then what the model says
/// about itself (<see cref="ModelMetadata"/>: input, normalization, labels, provenance).
/// </summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A zoo model name, a .neuro or an .onnx file" };
        var json = new Option<bool>("--json") { Description = "Print the table as JSON" };
        var command = new Command("inspect", "Show a model's layers, shapes, parameters and FLOPs") { model, json };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(json)));
        return command;
    }

    static int Run(string model, bool json)
    {
        NetworkGraph graph;
        long parameterCount;
        ModelMetadata metadata;
        if (model.EndsWith(".neuro", StringComparison.OrdinalIgnoreCase) || model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || File.Exists(model))
        {
            using var cpu = new CpuBackend();
            using var network = InferCommand.Load(model, cpu, out metadata); // a .neuro file, or an .onnx file imported
            graph = network.Graph;
            parameterCount = network.ParameterCount;
        }
        else
        {
            graph = ModelZoo.Build(model);
            parameterCount = graph.Nodes.Sum(n => n.Layer.Parameters.Sum(p => (long)p.Shape.Length));
            metadata = ModelMetadata.Describe(graph);
        }

        var rows = Describe(graph);
        long flops = rows.Sum(r => r.MultiplyAccumulates) * 2;
        if (json)
        {
            var described = new JsonObject();
            foreach (var (key, value) in metadata.Entries()) described[key] = JsonNode.Parse(value);
            var report = new InspectReport(model, graph.Inputs.Select(i => new InspectInput(i.Name, i.ItemShape.ToArray())).ToArray(),
                graph.Output, rows, parameterCount, flops, described);
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, new System.Text.Json.JsonSerializerOptions
            {
                WriteIndented = true,
                PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
            }));
            return 0;
        }
        var table = new Table().AddColumns("node", "type", "inputs", "output (per item)", "parameters", "MACs");
        foreach (var row in rows)
            table.AddRow(Markup.Escape(row.Name), row.Type, Markup.Escape(string.Join(", ", row.Inputs)),
                $"({string.Join(",", row.OutputShape)})", row.Parameters.ToString("N0"), row.MultiplyAccumulates.ToString("N0"));
        Terminal.Create().Write(table);
        Console.WriteLine($"inputs: {string.Join(", ", graph.Inputs.Select(i => $"{i.Name} {i.ItemShape}"))}; output: {graph.Output}");
        Console.WriteLine($"parameters: {parameterCount:N0}; FLOPs per item (forward, 2 per multiply–accumulate): {flops:N0}");
        foreach (string line in DescribeMetadata(metadata)) Console.WriteLine(line);
        return 0;
    }

    /// <summary>The lines that show what a model says about itself; "unknown" for the parts it does not say.</summary>
    internal static IEnumerable<string> DescribeMetadata(ModelMetadata metadata)
    {
        yield return $"input: {metadata.Input}";
        yield return $"normalization: {metadata.Normalization?.ToString() ?? "unknown (neuro import --mean … --std … adds it)"}";
        yield return metadata.Labels is { } labels ? $"labels ({labels.Count}): {string.Join(", ", labels)}" : "labels: unknown (neuro import --labels … adds them)";
        yield return $"provenance: {(metadata.Provenance is { } p ? p.ToString() : "unknown")}";
    }

    /// <summary>One row per node: output shape without the batch axis, parameters, multiply–accumulates per item.</summary>
    internal static InspectRow[] Describe(NetworkGraph graph)
    {
        var shapes = graph.InferShapes(1);
        return graph.Nodes.Select(node =>
        {
            var inputs = node.Inputs.Select(i => shapes[i]).ToArray();
            var output = shapes[node.Name];
            int[] outputDims = output.ToArray()[1..];
            return new InspectRow(node.Name, node.Layer.Type, [.. node.Inputs], outputDims,
                node.Layer.Parameters.Sum(p => (long)p.Shape.Length), node.Layer.MultiplyAccumulates(inputs, output));
        }).ToArray();
    }
}

internal sealed record InspectInput(string Name, int[] Shape);
internal sealed record InspectRow(string Name, string Type, string[] Inputs, int[] OutputShape, long Parameters, long MultiplyAccumulates);
internal sealed record InspectReport(string Model, InspectInput[] Inputs, string Output, InspectRow[] Layers, long Parameters, long Flops, JsonObject Metadata);
