using System.CommandLine;
using NeuroPlugin.Backends;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro infer MODEL --input X.npy --output Y.npy [--backend gl|cpu]</c>: runs a <c>.neuro</c> or <c>.onnx</c>
/// model in inference mode on a float32 C-order batch (N, item shape) — or one item without the batch axis — and
/// writes the output (N, …) as <c>.npy</c>.
/// </summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A .neuro or .onnx model" };
        var input = new Option<string>("--input") { Description = "Input batch, .npy float32 (N,C,H,W) or (N,features)", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the output .npy", Required = true };
        var backend = new Option<string>("--backend") { Description = "auto, gl or cpu", DefaultValueFactory = _ => "auto" };
        var command = new Command("infer", "Run a model on an .npy batch and write the output as .npy") { model, input, output, backend };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(backend)!));
        return command;
    }

    /// <summary>Loads a <c>.onnx</c> (imported) or <c>.neuro</c> model onto <paramref name="backend"/>.</summary>
    internal static Network Load(string model, IBackend backend) => Load(model, backend, out _);

    /// <summary>As <see cref="Load(string, IBackend)"/>, also giving what the file says about the model.</summary>
    internal static Network Load(string model, IBackend backend, out ModelMetadata metadata)
    {
        if (!model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return ModelFile.Load(model, backend, out metadata);
        var imported = OnnxImporter.Convert(model);
        metadata = imported.Metadata;
        return imported.CreateNetwork(backend);
    }

    static int Run(string model, string inputPath, string outputPath, string backendName)
    {
        var (dims, values) = Npy.Read(inputPath);
        using var backend = BackendSelection.Create(backendName);
        using var network = Load(model, backend);
        var item = network.Graph.Inputs[0].ItemShape;
        int[] itemDims = item.ToArray();
        // one item without the batch axis is a batch of one
        if (dims.AsSpan().SequenceEqual(itemDims)) dims = [1, .. dims];
        if (dims.Length != itemDims.Length + 1 || !dims.AsSpan(1).SequenceEqual(itemDims) || dims[0] < 1)
            throw new CliErrors.UsageException($"{inputPath}: shape ({string.Join(",", dims)}) does not fit the model's input (N,{string.Join(",", itemDims)})");
        using var plan = ExecutionPlan.ForInference(network, dims[0]);
        plan.Input.Upload(values);
        plan.Forward();
        Npy.Write(outputPath, plan.Output.Shape.ToArray(), plan.Output.ToArray());
        Console.WriteLine($"{inputPath} ({string.Join(",", dims)}) → {outputPath} ({string.Join(",", plan.Output.Shape.ToArray())}) on {backend.Name}");
        return 0;
    }
}
