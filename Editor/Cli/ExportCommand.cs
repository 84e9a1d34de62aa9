using System.CommandLine;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Editor.Cli;

/// <summary><c>neuro export MODEL.neuro -o MODEL.onnx</c>: writes a model file as ONNX (opset
/// <see cref="OnnxExporter.OpsetFor"/>, inference form) that ONNX Runtime runs with the same results; the model's
/// description (input, normalization, labels, provenance) goes into <c>metadata_props</c>.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The .neuro file" };
        var output = new Option<string>("--output", "-o") { Description = "The .onnx file to write", Required = true };
        var command = new Command("export", "Convert a .neuro model file to ONNX") { model, output };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(output)!));
        return command;
    }

    static int Run(string model, string output)
    {
        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(model, cpu, out var metadata);
        OnnxExporter.Export(network, output, metadata);
        Console.WriteLine($"{model} → {output}: ONNX opset {OnnxExporter.OpsetFor(network.Graph)}, {network.Graph.Nodes.Count} layers");
        return 0;
    }
}
