using Microsoft.ML.OnnxRuntime;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Benchmarks;

/// <summary>
/// ONNX Runtime (the C# package Microsoft.ML.OnnxRuntime, CPU execution provider) on the same network with the same
/// weights: the zoo model built with seed 1 and exported by <see cref="OnnxExporter"/>. Its best settings: every graph
/// optimization (ORT_ENABLE_ALL: batch norm folded into the convolution, activations fused, NCHWc blocked layouts on
/// AVX-512), sequential execution, <see cref="Workload.Threads"/> intra-op threads, and tensors bound once (no
/// allocation per run). Before timing, its logits are compared with ours on the same images.
/// </summary>
sealed class OnnxRuntimePeer : IRunner
{
    readonly string directory = Directory.CreateTempSubdirectory("neuro-bench-onnx").FullName;
    readonly Dictionary<Workload, Session> sessions = [];

    public string Name => $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}";

    /// <summary>Largest |ours − ONNX Runtime| / max|logit| per model, from the check made before the first timing.</summary>
    public Dictionary<string, double> Agreement { get; } = [];

    public bool Supports(Workload workload) => !workload.Training;

    sealed class Session(InferenceSession session, OrtValue input, OrtValue output, float[] images, float[] logits) : IDisposable
    {
        public readonly InferenceSession Inference = session;
        public readonly OrtValue Input = input, Output = output;
        public readonly float[] Images = images, Logits = logits;
        public readonly RunOptions Options = new();

        public void Dispose()
        {
            Input.Dispose();
            Output.Dispose();
            Options.Dispose();
            Inference.Dispose();
        }
    }

    public Timing Measure(Workload workload, double seconds)
    {
        if (!sessions.TryGetValue(workload, out var session)) sessions[workload] = session = Open(workload);
        string[] inputNames = [.. session.Inference.InputMetadata.Keys], outputNames = [.. session.Inference.OutputMetadata.Keys];
        OrtValue[] inputs = [session.Input], outputs = [session.Output];
        return Timing.Of(() => session.Inference.Run(session.Options, inputNames, inputs, outputNames, outputs), seconds);
    }

    Session Open(Workload workload)
    {
        string path = Path.Combine(directory, $"{workload.Model}.onnx");
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build(workload.Model), cpu, seed: 1);
        if (!File.Exists(path)) OnnxExporter.Export(network, path);
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = workload.Threads,
            InterOpNumThreads = 1,
        };
        var inference = new InferenceSession(path, options);
        var item = network.Graph.InferShapes(workload.Batch)[network.Graph.Inputs[0].Name];
        var logitsShape = network.Graph.InferShapes(workload.Batch)[network.Graph.Output];
        float[] images = Workloads.Uniform(new Random(2), item.Length), logits = new float[logitsShape.Length];
        var input = OrtValue.CreateTensorValueFromMemory(images, Dimensions(item));
        var output = OrtValue.CreateTensorValueFromMemory(logits, Dimensions(logitsShape));
        var session = new Session(inference, input, output, images, logits);
        inference.Run(session.Options, [.. inference.InputMetadata.Keys], [input], [.. inference.OutputMetadata.Keys], [output]);
        float[] ours = OursRunner.Logits(network, images, workload.Batch);
        double scale = ours.Max(Math.Abs), difference = ours.Zip(logits, (a, b) => Math.Abs(a - b)).Max();
        Agreement[workload.Model] = Math.Max(Agreement.GetValueOrDefault(workload.Model), difference / Math.Max(scale, 1e-30));
        return session;
    }

    static long[] Dimensions(Tensors.TensorShape shape) => Enumerable.Range(0, shape.Rank).Select(i => (long)shape[i]).ToArray();

    public void Dispose()
    {
        foreach (var session in sessions.Values) session.Dispose();
        sessions.Clear();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}
