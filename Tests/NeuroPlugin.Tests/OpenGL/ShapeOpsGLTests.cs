namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The shape layers that move data (<see cref="Permute"/>, <see cref="Slice"/>, <see cref="IndexSelect"/>,
/// <see cref="Concat"/> along any axis), forward and backward on both backends against PyTorch
/// (Tests/Golden/gen_shape_ops.py), GL against the CPU at other sizes, and their shape checks.</summary>
public sealed class ShapeOpsGLTests : GLFixture
{
    /// <summary>Each golden file's layer, built with the attributes the generator used.</summary>
    static readonly Dictionary<string, Func<Layer>> Goldens = new()
    {
        ["shape_permute"] = () => new Permute(0, 2, 3, 1),
        ["shape_permute_rank3"] = () => new Permute(0, 2, 1),
        ["shape_slice"] = () => new Slice([3, 1, 2], [-1, 1, 0], [-100, 100, 5], [-2, 2, 3]),
        ["shape_index_select_repeated"] = () => new IndexSelect(1, 3, 0, 3, 1),
        ["shape_index_select_even"] = () => new IndexSelect(3, 4, 2, 0),
        ["shape_concat_dim2"] = () => new Concat(2, dim: 2),
        ["shape_concat_rank3"] = () => new Concat(2, dim: 2),
    };

    static IEnumerable<string> GoldenNames() => Goldens.Keys;

    /// <summary>Runs <paramref name="layer"/> forward and backward on <paramref name="backend"/>: the output, and the
    /// input gradients added to gradients that start at <paramref name="startGradient"/>.</summary>
    internal static (float[] Y, float[][] Dx) Run(Layer layer, IBackend backend, float[][] inputs, TensorShape[] shapes, float[] dy, float startGradient = 0f)
    {
        var y = layer.InferOutputShape("test", shapes);
        var x = shapes.Select((s, i) => backend.Allocate(s, $"x{i}")).ToArray();
        var dx = shapes.Select((s, i) => backend.Allocate(s, $"dx{i}")).ToArray();
        using Tensor output = backend.Allocate(y, "y"), gradient = backend.Allocate(y, "dy");
        try
        {
            for (int i = 0; i < x.Length; i++)
            {
                x[i].Upload(inputs[i]);
                dx[i].Upload(Enumerable.Repeat(startGradient, shapes[i].Length).ToArray());
            }
            gradient.Upload(dy);
            var t = new NodeTensors("test", x, [.. dx.Cast<Tensor?>()], output, gradient, [], [], []);
            layer.Forward(backend, t);
            layer.Backward(backend, t);
            return (output.ToArray(), [.. dx.Select(d => d.ToArray())]);
        }
        finally
        {
            foreach (var tensor in x.Concat(dx)) tensor.Dispose();
        }
    }

    [TestCaseSource(nameof(GoldenNames))]
    public void BothBackends_MatchPyTorch(string name)
    {
        var golden = GoldenFile.Load(name);
        string[] keys = golden.Contains("x") ? ["x"] : ["x0", "x1"];
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            var (y, dx) = Run(Goldens[name](), backend, [.. keys.Select(golden.Data)], [.. keys.Select(k => TensorShape.Of(golden.Shape(k)))], golden.Data("dy"));
            // pure data movement: every value is copied (or, for a repeated index, summed in PyTorch's order) exactly
            TensorAssert.AreClose(golden.Data("y"), y, 0, $"{name}.y on {backend.Name}");
            for (int i = 0; i < keys.Length; i++)
                TensorAssert.AreClose(golden.Data("d" + keys[i]), dx[i], 1e-6, $"{name}.d{keys[i]} on {backend.Name}");
        }
    }

    static IEnumerable<TestCaseData> TwinCases()
    {
        yield return new TestCaseData(new Permute(0, 3, 1, 2), new[] { new TensorShape(3, 5, 7, 9) }).SetArgDisplayNames("permute");
        yield return new TestCaseData(new Slice([1, 3], [4, -2], [0, 1], [-1, -3]), new[] { new TensorShape(3, 5, 7, 9) }).SetArgDisplayNames("slice_backwards");
        yield return new TestCaseData(new IndexSelect(2, 6, 6, 0), new[] { new TensorShape(4, 3, 7) }).SetArgDisplayNames("index_select_repeated");
        yield return new TestCaseData(new Concat(3, dim: 3), new[] { new TensorShape(2, 3, 4, 5), new TensorShape(2, 3, 4, 1), new TensorShape(2, 3, 4, 6) }).SetArgDisplayNames("concat_width");
    }

    [TestCaseSource(nameof(TwinCases))]
    public void ForwardAndBackward_MatchCpu(Layer layer, TensorShape[] shapes)
    {
        var random = new Random(shapes.Length);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        float[][] inputs = [.. shapes.Select(s => Values(s.Length))];
        float[] dy = Values(layer.InferOutputShape("test", shapes).Length);
        using var cpu = new CpuBackend();
        // gradients start at 1: backward adds into them
        var (yCpu, dxCpu) = Run(layer, cpu, inputs, shapes, dy, startGradient: 1f);
        var (yGl, dxGl) = Run(layer, Backend, inputs, shapes, dy, startGradient: 1f);
        Assert.That(yGl, Is.EqualTo(yCpu), "forward");
        for (int i = 0; i < shapes.Length; i++) Assert.That(dxGl[i], Is.EqualTo(dxCpu[i]), $"gradient of input {i}");
        Assert.That(dxCpu.SelectMany(d => d).Sum() - dxCpu.Sum(d => d.Length), Is.EqualTo(dy.Sum()).Within(1e-3),
            "every element of dy lands in one input gradient (a repeated index sums)");
    }

    [Test]
    public void ShapeErrors_NameTheNodeAndShapes()
    {
        var x = new TensorShape(2, 3, 4, 5);
        Assert.That(new Permute(0, 2, 3, 1).InferOutputShape("p", [x]), Is.EqualTo(new TensorShape(2, 4, 5, 3)));
        Assert.That(Assert.Throws<ShapeException>(() => new Permute(0, 2, 1).InferOutputShape("p", [x]))!.Message, Does.StartWith("p: permutation [0,2,1]").And.Contain("(2,3,4,5)"));
        Assert.That(new Slice([3], [-1], [-100], [-2]).InferOutputShape("s", [x]), Is.EqualTo(new TensorShape(2, 3, 4, 3)));
        Assert.That(Assert.Throws<ShapeException>(() => new Slice([2], [3], [1], [1]).InferOutputShape("s", [x]))!.Message, Does.StartWith("s: slice 3:1:1 of axis 2").And.Contain("empty"));
        Assert.That(Assert.Throws<ShapeException>(() => new IndexSelect(1, 0, 3).InferOutputShape("g", [x]))!.Message, Does.StartWith("g: index 3 is out of range for axis 1"));
        Assert.That(Assert.Throws<ShapeException>(() => new Concat(2, dim: 2).InferOutputShape("c", [x, new TensorShape(2, 4, 1, 5)]))!.Message, Does.StartWith("c: Concat along axis 2").And.Contain("(2,4,1,5)"));
        Assert.That(Assert.Throws<ShapeException>(() => new Reshape(7, 9).InferOutputShape("r", [x]))!.Message, Does.StartWith("r: cannot reshape (2,3,4,5) to (N,7,9)"));
        Assert.That(new Reshape(20, 3).InferOutputShape("r", [x]), Is.EqualTo(new TensorShape(2, 20, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Permute(1, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Slice([1], [0], [2], [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IndexSelect(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Concat(2, dim: 0));
    }

    [TestCase(5, 0, 5, 1, 0, 5)]
    [TestCase(5, -1, -100, -2, 4, 3)]
    [TestCase(5, 100, -100, -1, 4, 5)]
    [TestCase(5, -2, 100, 1, 3, 2)]
    [TestCase(5, 1, 100, 2, 1, 2)]
    [TestCase(5, 3, 1, 1, 3, 0)]
    [TestCase(5, -10, long.MinValue, -1, 0, 1)]             // ONNX clamps a negative step's start up to 0 (NumPy: empty)
    [TestCase(5, 100, -100, -2, 4, 3)]                      // 4, 2, 0
    [TestCase(5, long.MaxValue, long.MinValue, -1, 4, 5)]   // ONNX's "whole axis reversed"
    [TestCase(5, -1, -1, -1, 4, 0)]
    [TestCase(5, 0, 5, long.MaxValue, 0, 1)]                // a step longer than the axis takes one element
    [TestCase(5, 4, -100, long.MinValue, 4, 1)]
    [TestCase(0, 0, 5, 1, 0, 0)]                            // an empty axis (a folded constant's)
    public void SliceRange_ClampsAsOnnx(int size, long start, long end, long step, int first, int count) =>
        Assert.That(Slice.Range(size, start, end, step), Is.EqualTo((first, count)));
}
