namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The same tensor on the CPU reference backend and on the GL backend.</summary>
sealed class Twin(Tensor cpu, Tensor gl)
{
    public Tensor Cpu { get; } = cpu;
    public Tensor Gl { get; } = gl;
    public Tensor this[IBackend backend] => backend is GLBackend ? Gl : Cpu;
}

/// <summary>
/// Runs an op on <see cref="CpuBackend"/> and on the GL backend with identical seeded inputs and compares
/// the results (<c>TensorAssert.AreClose</c>, 1e-4 relative). Owns the tensors it makes.
/// </summary>
sealed class TwinBackends : IDisposable
{
    public const double Tolerance = 1e-4;

    /// <summary>A test case's seed from its parameters (the same case, the same data).</summary>
    public static int Seed(params object[] parts) => string.Join(",", parts).Aggregate(17, (h, ch) => h * 31 + ch);

    readonly List<Twin> twins = new();
    readonly Random random;

    public TwinBackends(GLBackend gl, int seed)
    {
        Gl = gl;
        random = new Random(seed);
    }

    public CpuBackend Cpu { get; } = new();
    public GLBackend Gl { get; }

    /// <summary>Twins filled with the same uniform values in [−scale, scale).</summary>
    public Twin Random(TensorShape shape, string name, double scale = 1.0)
    {
        var values = new float[shape.Length];
        for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return FromValues(shape, name, values);
    }

    /// <summary>Twins holding <paramref name="values"/>.</summary>
    public Twin FromValues(TensorShape shape, string name, float[] values)
    {
        var twin = new Twin(Cpu.Allocate(shape, name), Gl.Allocate(shape, name));
        twin.Cpu.Upload(values);
        twin.Gl.Upload(values);
        twins.Add(twin);
        return twin;
    }

    /// <summary>Runs <paramref name="op"/> on both backends.</summary>
    public void Run(Action<IBackend> op)
    {
        op(Cpu);
        op(Gl);
    }

    /// <summary>
    /// Runs a one-input op forward and backward on both backends from the same data and asserts that the output y and
    /// the input gradient dx agree: x and dy random, y starting as random garbage (forward must overwrite it), dx as
    /// random values (backward must add to them).
    /// </summary>
    public void AssertForwardBackwardSame(TensorShape input, TensorShape output, Action<IBackend, Tensor, Tensor> forward,
        Action<IBackend, Tensor, Tensor> backward)
    {
        var x = Random(input, "x");
        var dy = Random(output, "dy");
        var y = Random(output, "y");
        var dx = Random(input, "dx");
        Run(b => forward(b, x[b], y[b]));
        Run(b => backward(b, dy[b], dx[b]));
        AssertSame(y, "y");
        AssertSame(dx, "dx");
    }

    /// <summary>Asserts the GL tensor equals the CPU tensor within <see cref="Tolerance"/>.</summary>
    public static void AssertSame(Twin twin, string what) =>
        TensorAssert.AreClose(twin.Cpu.ToArray(), twin.Gl.ToArray(), Tolerance, what);

    public void Dispose()
    {
        foreach (var twin in twins)
        {
            twin.Cpu.Dispose();
            twin.Gl.Dispose();
        }
        Cpu.Dispose();
    }
}
