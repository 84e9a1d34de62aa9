using System.CommandLine;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Editor.Cli;

/// <summary><c>neuro import MODEL.onnx -o MODEL.neuro</c>: converts an ONNX model (PyTorch's exporter, opsets 7–17)
/// to a model file. Unsupported ops and malformed files end with one line naming the node, op and opset.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The .onnx file" };
        var output = new Option<string>("--output", "-o") { Description = "The .neuro file to write", Required = true };
        var command = new Command("import", "Convert an ONNX model to a .neuro model file") { model, output };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(output)!));
        return command;
    }

    static int Run(string model, string output)
    {
        using var cpu = new CpuBackend();
        using var network = OnnxImporter.Import(model, cpu);
        ModelFile.Save(network, output);
        Console.WriteLine($"{model} → {output}: {network.Graph.Nodes.Count} layers, {network.ParameterCount:N0} parameters");
        return 0;
    }
}
