using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Tests.Zoo;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>
/// Every zoo model, in inference form (eval-mode batch norm with non-trivial running statistics, dropout and the
/// stochastic regularizers at their expectation, auxiliary heads dropped), exports to ONNX that ONNX Runtime runs with
/// our CPU output within 1e-4 relative, at the reduced sizes of <see cref="ZooTrainingTests"/>, and that imports back to
/// a network with the same output.
/// </summary>
public sealed class OnnxZooExportTests
{
    public static IEnumerable<ZooTrainingTests.Case> Cases() => ZooTrainingTests.Cases();

    [TestCaseSource(nameof(Cases))]
    public void ZooModel_ExportsAndRunsInOnnxRuntime(ZooTrainingTests.Case c)
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build(c.Name, c.Options), cpu, seed: 3);
        OnnxExportTests.RandomizeBuffers(network, seed: 4);
        const int batch = 2;
        int[] dims = [batch, c.Options.InputChannels, c.Options.ImageSize, c.Options.ImageSize];
        float[] input = OnnxRun.RandomInput(dims.Aggregate(1, (a, b) => a * b), seed: 5);
        var (ours, shape) = OnnxRun.Ours(network, input, batch);
        byte[] onnx = OnnxExporter.ToModel(network).ToByteArray();
        var (ort, ortShape) = OnnxRun.Ort(onnx, input, dims);
        Assert.That(ortShape, Is.EqualTo(shape), $"{c.Name}: output shape in ONNX Runtime");
        TensorAssert.AreClose(ours, ort, 1e-4, $"{c.Name}: ONNX Runtime vs our CPU backend");

        // and back: the exported file imports to a network that gives the same output
        using var back = OnnxRun.Import(onnx, cpu, $"{c.Name}.onnx");
        var (again, againShape) = OnnxRun.Ours(back, input, batch);
        Assert.That(againShape, Is.EqualTo(shape), $"{c.Name}: re-imported output shape");
        TensorAssert.AreClose(ours, again, 1e-4, $"{c.Name}: re-imported vs exported network");
    }
}
