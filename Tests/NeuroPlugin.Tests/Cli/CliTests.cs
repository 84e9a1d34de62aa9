using NeuroPlugin.Editor;

namespace NeuroPlugin.Tests.Cli;

/// <summary>The command line's handling of bad input: one line on stderr, a non-zero exit, no stack trace.</summary>
[NonParallelizable] // redirects the process-wide Console
public class CliTests
{
    static void AssertOneLineError(string[] args, string expected)
    {
        var (code, _, error) = NeuroCli.Run(args);
        Assert.That(code, Is.Not.EqualTo(0), "exit code");
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"stderr: {error}");
        Assert.That(lines[0], Does.StartWith("neuro: ").And.Contain(expected));
        Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void Inspect_ReportsLayersShapesParametersAndFlops()
    {
        var (code, output, error) = NeuroCli.Run("inspect", "lenet5", "--json");
        Assert.That(code, Is.EqualTo(0), error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.That(root.GetProperty("parameters").GetInt64(), Is.EqualTo(61706));
        var layers = root.GetProperty("layers").EnumerateArray().ToArray();
        Assert.That(layers.Select(l => l.GetProperty("name").GetString()), Is.EqualTo(new[]
            { "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "relu4", "fc3" }));
        Assert.That(layers[3].GetProperty("outputShape").EnumerateArray().Select(d => d.GetInt32()), Is.EqualTo(new[] { 16, 10, 10 }));
        // conv2: 16·10·10 outputs, each 6·5·5 multiply–accumulates
        Assert.That(layers[3].GetProperty("multiplyAccumulates").GetInt64(), Is.EqualTo(240_000));
        Assert.That(root.GetProperty("flops").GetInt64(), Is.EqualTo(845_648));
    }

    [Test]
    public void Inspect_UnknownModel() => AssertOneLineError(["inspect", "resnet"], "unknown model 'resnet'");

    [Test]
    public void UnknownModel() => AssertOneLineError(["train", "--model", "lenet9", "--backend", "cpu"], "unknown model 'lenet9'");

    [Test]
    public void UnknownBackend() => AssertOneLineError(["bench", "--backend", "vulkan"], "unknown backend 'vulkan'");

    [Test]
    public void BatchZero() => AssertOneLineError(["train", "--batch", "0", "--backend", "cpu"], "--batch must be at least 1, got 0");

    [Test]
    public void UnknownDataset() => AssertOneLineError(["train", "--data", "cifar", "--backend", "cpu"], "unknown dataset 'cifar'");

    [Test]
    public void NotANumber() => AssertOneLineError(["train", "--epochs", "two"], "two");

    [Test]
    public void CorruptDataset()
    {
        using var temp = new TempFolder("neuro-cli");
        string folder = temp.Path;
        foreach (string name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
            File.WriteAllBytes(Path.Combine(folder, name), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]); // a gzip header, then garbage
        AssertOneLineError(["train", "--backend", "cpu", "--data-dir", folder], "train-images-idx3-ubyte.gz");
    }

    [Test]
    public void TrainOnCpu_WritesReportAndModel()
    {
        string folder = Path.Combine(Path.GetTempPath(), "neuro-cli-" + Guid.NewGuid().ToString("N"));
        try
        {
            string report = Path.Combine(folder, "report.json");
            var (code, output, error) = NeuroCli.Run("train", "--backend", "cpu", "--epochs", "1", "--train-limit", "6000", "--out", folder, "--report", report);
            Assert.That(code, Is.EqualTo(0), error);
            Assert.That(output, Does.Contain("test accuracy"));
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
            var root = json.RootElement;
            Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("lenet5"));
            Assert.That(root.GetProperty("backend").GetString(), Is.EqualTo("cpu"));
            Assert.That(root.GetProperty("device").GetString(), Does.StartWith("CPU"));
            Assert.That(root.GetProperty("epochs").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("testAccuracy").GetDouble(), Is.InRange(0.65, 1.0), "one epoch on 6000 images (74 % when measured) beats chance (10 %) by far");
            Assert.That(root.GetProperty("trainImagesPerSecond").GetDouble(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("seconds").GetDouble(), Is.GreaterThan(0));
            Assert.That(File.Exists(Path.Combine(folder, "model.neuro")), Is.True);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [TestCase("cpu")]
    [TestCase("gl")]
    public void Bench_MonitorEvery_ReportsTheMonitorsCostAndTheStepsBetweenSamples(string backend)
    {
        var (code, output, error) = NeuroCli.Run("bench", "--model", "lenet5", "--backend", backend, "--batch", "4", "--steps", "4",
            "--monitor-every", "2", "--rounds", "2", "--json");
        Assert.That(code, Is.EqualTo(0), error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var monitor = json.RootElement.GetProperty("monitor");
        Assert.That(monitor.GetProperty("every").GetInt32(), Is.EqualTo(2));
        Assert.That(monitor.GetProperty("rounds").GetInt32(), Is.EqualTo(2));
        // two rounds of four steps sampled every second step
        Assert.That(monitor.GetProperty("samples").GetInt64(), Is.EqualTo(4));
        Assert.That(monitor.GetProperty("stepMilliseconds").GetDouble(), Is.GreaterThan(0));
        Assert.That(monitor.GetProperty("sampledStepMilliseconds").GetDouble(), Is.GreaterThan(0));
        Assert.That(monitor.GetProperty("stepsBetweenSamples").GetInt32(), Is.EqualTo(4));
        // counted on GL: a step between samples issues exactly the kernels of a step without a monitor
        Assert.That(monitor.GetProperty("extraDispatchesBetweenSamples").GetInt64(), Is.Zero);
        // the bytes are a measurement (the allocation tests assert zero); here only that they are reported
        Assert.That(monitor.TryGetProperty("bytesBetweenSamples", out _), Is.True);
    }

    /// <summary><c>--guard</c> trains through the non-finite guard: on GL a LeNet-5 step then issues seven dispatches more than
    /// a plain step: the check's six (the flags' fill, the parameters, the gradients, the input, node outputs and loss as two
    /// dispatches of up to seven tensors, the latch) and the report's copy out, since on llvmpipe, which finishes every
    /// dispatch inside the call, each step's poll finds the last copy's fence passed and requests the next; on the CPU it
    /// counts none.</summary>
    [TestCase("cpu")]
    [TestCase("gl")]
    public void Bench_Guard_TrainsGuardedSteps(string backend)
    {
        double? DispatchesPerStep(params string[] extra)
        {
            var (code, output, error) = NeuroCli.Run(["bench", "--model", "lenet5", "--backend", backend, "--batch", "4", "--steps", "4", "--json", .. extra]);
            Assert.That(code, Is.EqualTo(0), error);
            using var json = System.Text.Json.JsonDocument.Parse(output);
            Assert.That(json.RootElement.GetProperty("guarded").GetBoolean(), Is.EqualTo(extra.Length > 0));
            Assert.That(json.RootElement.GetProperty("trainImagesPerSecond").GetDouble(), Is.GreaterThan(0));
            var dispatches = json.RootElement.GetProperty("dispatchesPerStep");
            return dispatches.ValueKind == System.Text.Json.JsonValueKind.Null ? null : dispatches.GetDouble();
        }
        double? plain = DispatchesPerStep(), guarded = DispatchesPerStep("--guard");
        if (backend == "cpu") Assert.That(guarded, Is.Null);
        else Assert.That(guarded - plain, Is.EqualTo(6 + 1));
        AssertOneLineError(["bench", "--guard", "--monitor-every", "2"], "--guard and --monitor-every");
    }

    /// <summary>Runs neuro in a child process whose EGL loader finds no driver (GLVND reads its vendor list
    /// from __EGL_VENDOR_LIBRARY_FILENAMES), as on a machine without Mesa or a GPU driver.</summary>
    static (int ExitCode, string Out, string Error) RunWithoutGL(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "neuro.dll"));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["__EGL_VENDOR_LIBRARY_FILENAMES"] = "/nonexistent/egl-vendor.json";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(120_000), Is.True, "neuro finished");
        return (process.ExitCode, output.Result, error.Result);
    }

    [Test]
    public void MissingGL_ExplicitBackendFailsWithTheReason()
    {
        var (code, _, error) = RunWithoutGL("bench", "--backend", "gl", "--steps", "1");
        Assert.That(code, Is.EqualTo(1));
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), error);
        Assert.That(lines[0], Does.StartWith("neuro: ").And.Contain("libegl1 libegl-mesa0 libgl1-mesa-dri"));
        Assert.That(error, Does.Not.Contain("   at "));
    }

    [Test]
    public void MissingGL_AutoFallsBackToCpuWithOneWarning()
    {
        var (code, output, error) = RunWithoutGL("bench", "--backend", "auto", "--steps", "2", "--batch", "4");
        Assert.That(code, Is.EqualTo(0), error);
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), error);
        Assert.That(lines[0], Does.StartWith("neuro: warning: using the CPU backend: "));
        Assert.That(output, Does.Contain("on cpu"));
    }
}
