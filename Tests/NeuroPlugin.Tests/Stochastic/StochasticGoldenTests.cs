using System.Text.Json.Nodes;

namespace NeuroPlugin.Tests.Stochastic;

/// <summary>
/// The stochastic regularizers against PyTorch with the runtime's own random draws (<c>Tests/Golden/gen_stochastic.py</c>
/// computes Philox4x32-10 in Python and each paper's coefficients from it): forward values and every input gradient in
/// training (one fixed (seed, stream, step)) and eval (the expectations), and FractalNet's per-sample drop-path join over
/// local and global steps. Each layer is built from the golden file's attributes through <see cref="LayerRegistry"/>.
/// </summary>
static class StochasticGolden
{
    const double Tolerance = 1e-5;

    public static readonly string[] ResidualFiles = ["stochastic_depth", "shake_shake", "shake_drop", "swapout"];
    public static readonly string[] FractalFiles = ["fractal_drop_path", "fractal_drop_path_off_column"];

    static readonly Dictionary<string, (string Type, string[] Inputs)> Residuals = new()
    {
        ["stochastic_depth"] = ("StochasticDepth", ["F", "x"]),
        ["shake_shake"] = ("ShakeShake", ["F1", "F2", "x"]),
        ["shake_drop"] = ("ShakeDrop", ["F", "x"]),
        ["swapout"] = ("Swapout", ["F", "x"]),
    };

    static JsonObject Attributes(GoldenFile golden) => JsonNode.Parse(golden.Attributes.GetRawText())!.AsObject();

    static uint Word(GoldenFile golden, string name) => golden.Attributes.GetProperty(name).GetUInt32();

    /// <summary>Stochastic Depth, Shake-Shake, ShakeDrop or Swapout: one training forward and backward at the file's
    /// (seed, stream, step) and one in eval, against PyTorch's y and input gradients.</summary>
    public static void CheckResidual(IBackend backend, string name)
    {
        var golden = GoldenFile.Load(name);
        var (type, keys) = Residuals[name];
        var layer = LayerRegistry.Create(type, Attributes(golden));
        Tensor[] inputs = [.. keys.Select(k => golden.Upload(backend, k))];
        Tensor[] grads = [.. inputs.Select(x => backend.Allocate(x.Shape, "d" + x.Name))];
        using Tensor dy = golden.Upload(backend, "dy"), y = backend.Allocate(dy.Shape, "y");
        var shapes = inputs.Select(x => x.Shape).ToArray();
        Tensor[] workspace = [.. layer.WorkspaceShapes(shapes, y.Shape).Select((s, i) => backend.Allocate(s, $"workspace{i}"))];
        foreach (string mode in new[] { "train", "eval" })
        {
            foreach (var g in grads) backend.Fill(g, 0f);
            var node = new NodeTensors(name, inputs, grads, y, dy, [], [], workspace)
            {
                Training = mode == "train", Seed = Word(golden, "seed"), Stream = Word(golden, "stream"), RandomCounter = Word(golden, "step"),
            };
            layer.Forward(backend, node);
            layer.Backward(backend, node);
            TensorAssert.AreClose(golden.Data($"y_{mode}"), y.ToArray(), Tolerance, $"{name} y ({mode}) on {backend.Name}");
            for (int i = 0; i < keys.Length; i++)
                TensorAssert.AreClose(golden.Data($"d{keys[i]}_{mode}"), grads[i].ToArray(), Tolerance, $"{name} d{keys[i]} ({mode}) on {backend.Name}");
        }
        foreach (var t in inputs.Concat(grads).Concat(workspace)) t.Dispose();
    }

    /// <summary>FractalJoin: every listed training step (local steps with per-sample masks, including a sample whose
    /// inputs were all dropped, and global steps keeping each column) and eval, against PyTorch's y and input gradients.</summary>
    public static void CheckFractalJoin(IBackend backend, string name)
    {
        var golden = GoldenFile.Load(name);
        var layer = (FractalJoin)LayerRegistry.Create("FractalJoin", Attributes(golden));
        int count = layer.InputCount;
        Tensor[] xs = [.. Enumerable.Range(0, count).Select(i => golden.Upload(backend, $"x{i}"))];
        Tensor[] dxs = [.. xs.Select(x => backend.Allocate(x.Shape, "d" + x.Name))];
        using Tensor dy = golden.Upload(backend, "dy"), y = backend.Allocate(dy.Shape, "y");
        using Tensor table = backend.Allocate(layer.WorkspaceShapes([.. xs.Select(x => x.Shape)], y.Shape)[0], "coefficients");
        var steps = golden.Attributes.GetProperty("steps").EnumerateArray().Select(s => s.GetUInt32().ToString()).Append("eval").ToArray();
        Assert.That(steps, Has.Length.GreaterThanOrEqualTo(7), $"{name}: the file covers local and global steps");
        foreach (string step in steps)
        {
            foreach (var dx in dxs) backend.Fill(dx, 0f);
            bool training = step != "eval";
            var node = new NodeTensors(name, xs, dxs, y, dy, [], [], [table])
            {
                Training = training, Seed = Word(golden, "seed"), Stream = Word(golden, "stream"), RandomCounter = training ? uint.Parse(step) : 0,
            };
            layer.Forward(backend, node);
            layer.Backward(backend, node);
            TensorAssert.AreClose(golden.Data($"y_{step}"), y.ToArray(), Tolerance, $"{name} y, step {step}, on {backend.Name}");
            for (int i = 0; i < count; i++)
                TensorAssert.AreClose(golden.Data($"dx{i}_{step}"), dxs[i].ToArray(), Tolerance, $"{name} dx{i}, step {step}, on {backend.Name}");
        }
        foreach (var t in xs.Concat(dxs)) t.Dispose();
    }
}

/// <summary>The CPU reference against the PyTorch golden files of the stochastic layers (see <see cref="StochasticGolden"/>).</summary>
public sealed class StochasticGoldenTests
{
    [TestCaseSource(typeof(StochasticGolden), nameof(StochasticGolden.ResidualFiles))]
    public void ResidualMatchesPyTorch(string name)
    {
        using var cpu = new CpuBackend();
        StochasticGolden.CheckResidual(cpu, name);
    }

    [TestCaseSource(typeof(StochasticGolden), nameof(StochasticGolden.FractalFiles))]
    public void FractalJoinMatchesPyTorch(string name)
    {
        using var cpu = new CpuBackend();
        StochasticGolden.CheckFractalJoin(cpu, name);
    }
}

/// <summary>The GL backend against the same PyTorch golden files.</summary>
public sealed class StochasticGoldenGLTests : GLFixture
{
    [TestCaseSource(typeof(StochasticGolden), nameof(StochasticGolden.ResidualFiles))]
    public void ResidualMatchesPyTorch(string name) => StochasticGolden.CheckResidual(Backend, name);

    [TestCaseSource(typeof(StochasticGolden), nameof(StochasticGolden.FractalFiles))]
    public void FractalJoinMatchesPyTorch(string name) => StochasticGolden.CheckFractalJoin(Backend, name);
}
