using NeuroPlugin.Editor;

namespace NeuroPlugin.Tests.Onnx;

/// <summary><c>neuro import</c>, <c>export</c>, <c>infer</c> and <c>inspect</c> on ONNX files, and their errors.</summary>
[NonParallelizable] // redirects the process-wide Console
public sealed class OnnxCliTests
{
    string folder = "";

    [SetUp]
    public void CreateFolder()
    {
        folder = Path.Combine(Path.GetTempPath(), $"neuro-cli-onnx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(folder, recursive: true);

    static void AssertOneLineError((int ExitCode, string Out, string Error) result, string expected)
    {
        Assert.That(result.ExitCode, Is.Not.Zero);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), result.Error);
        Assert.That(lines[0], Does.StartWith("neuro: ").And.Contain(expected));
    }

    [Test]
    public void ImportExportInfer_ReproducePyTorch()
    {
        string onnx = OnnxRun.FixturePath("lenet5.onnx"), input = OnnxRun.FixturePath("lenet5.input.npy");
        var (_, expected) = Npy.Read(OnnxRun.FixturePath("lenet5.output.npy"));
        string neuro = Path.Combine(folder, "lenet.neuro"), exported = Path.Combine(folder, "lenet.onnx");
        Assert.That(NeuroCli.Run("import", onnx, "-o", neuro).ExitCode, Is.Zero);
        Assert.That(NeuroCli.Run("export", neuro, "-o", exported).ExitCode, Is.Zero);
        foreach (var (model, backend) in new[] { (onnx, "cpu"), (neuro, "gl"), (exported, "cpu") })
        {
            string output = Path.Combine(folder, $"y-{backend}-{Path.GetExtension(model).TrimStart('.')}.npy");
            var result = NeuroCli.Run("infer", model, "--input", input, "--output", output, "--backend", backend);
            Assert.That(result.ExitCode, Is.Zero, result.Error);
            var (shape, values) = Npy.Read(output);
            Assert.That(shape, Is.EqualTo(new[] { 2, 10 }));
            TensorAssert.AreClose(expected, values, 1e-4, $"infer {Path.GetFileName(model)} on {backend}");
        }
    }

    [Test]
    public void Inspect_OnnxFile()
    {
        var (code, output, error) = NeuroCli.Run("inspect", OnnxRun.FixturePath("lenet5.onnx"), "--json");
        Assert.That(code, Is.Zero, error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        Assert.That(json.RootElement.GetProperty("parameters").GetInt64(), Is.EqualTo(61706));
    }

    [Test]
    public void Errors_AreOneLine()
    {
        string bad = Path.Combine(folder, "bad.onnx");
        File.WriteAllBytes(bad, [0x3A, 0xFF, 0xFF, 0xFF, 0x0F]);
        AssertOneLineError(NeuroCli.Run("import", bad, "-o", Path.Combine(folder, "x.neuro")), "not a valid ONNX protobuf");
        AssertOneLineError(NeuroCli.Run("import", Path.Combine(folder, "missing.onnx"), "-o", Path.Combine(folder, "x.neuro")), "file not found");
        AssertOneLineError(NeuroCli.Run("export", Path.Combine(folder, "missing.neuro"), "-o", Path.Combine(folder, "x.onnx")), "file not found");
        string wrong = Path.Combine(folder, "wrong.npy");
        Npy.Write(wrong, [2, 3], new float[6]);
        AssertOneLineError(NeuroCli.Run("infer", OnnxRun.FixturePath("lenet5.onnx"), "--input", wrong, "--output", Path.Combine(folder, "y.npy"), "--backend", "cpu"),
            "does not fit the model's input (N,1,28,28)");
        AssertOneLineError(NeuroCli.Run("infer", OnnxRun.FixturePath("lenet5.onnx"), "--input", bad, "--output", Path.Combine(folder, "y.npy"), "--backend", "cpu"), "magic");
    }
}
