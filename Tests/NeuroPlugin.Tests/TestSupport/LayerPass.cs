namespace NeuroPlugin.Tests.TestSupport;

/// <summary>One single-input layer's forward and backward on a backend, over tensors the caller made (input, its gradient,
/// output, parameters and their gradients); the workspace the layer asks for is allocated here and disposed with this.</summary>
public sealed class LayerPass : IDisposable
{
    readonly Layer layer;
    readonly IBackend backend;
    readonly Tensor x, y;
    readonly Tensor? dx;
    readonly Tensor[] parameters, workspace;
    readonly Tensor?[] parameterGrads;

    public LayerPass(Layer layer, IBackend backend, Tensor x, Tensor? dx, Tensor y, Tensor[] parameters, Tensor?[] parameterGrads)
    {
        (this.layer, this.backend, this.x, this.dx, this.y, this.parameters, this.parameterGrads) = (layer, backend, x, dx, y, parameters, parameterGrads);
        Assert.That(layer.InferOutputShape("layer", [x.Shape]), Is.EqualTo(y.Shape), "the output tensor has the inferred shape");
        workspace = [.. layer.WorkspaceShapes([x.Shape], y.Shape).Select((shape, i) => backend.Allocate(shape, $"workspace{i}"))];
    }

    public void Forward() => layer.Forward(backend, Node(null));

    /// <summary>Adds the gradients for output gradient <paramref name="dy"/> into dx and the parameter gradients.</summary>
    public void Backward(Tensor dy) => layer.Backward(backend, Node(dy));

    NodeTensors Node(Tensor? dy) => new("layer", [x], [dx], y, dy, parameters, parameterGrads, workspace);

    /// <summary>Finite differences of every input and parameter of <paramref name="layer"/> on the CPU, at an input of
    /// <paramref name="shape"/> with values in ±<paramref name="inputScale"/> and parameters in ±<paramref name="parameterScale"/>.</summary>
    public static void CheckGradients(Layer layer, TensorShape shape, GradientCheck check, double inputScale, double parameterScale)
    {
        using var cpu = new CpuBackend();
        var outputShape = layer.InferOutputShape("layer", [shape]);
        using var x = cpu.Allocate(shape, "x");
        x.Upload(check.RandomValues(shape.Length, inputScale));
        using var y = cpu.Allocate(outputShape, "y");
        using var dx = cpu.Allocate(shape, "dx");
        Tensor[] parameters = [.. layer.Parameters.Select(p => cpu.Allocate(p.Shape, p.Name))];
        foreach (var p in parameters) p.Upload(check.RandomValues(p.Length, parameterScale));
        Tensor[] grads = [.. parameters.Select(p => cpu.Allocate(p.Shape, "d" + p.Name))];
        using (var pass = new LayerPass(layer, cpu, x, dx, y, parameters, grads))
            check.Run(layer.ToString(), [x, .. parameters], y, pass.Forward, [dx, .. grads], pass.Backward);
        foreach (var t in parameters.Concat(grads)) t.Dispose();
    }

    /// <summary>Forward and backward of <paramref name="layer"/> on both of <paramref name="twins"/>' backends from the same
    /// random input (±<paramref name="inputScale"/>), parameters (±<paramref name="parameterScale"/>) and output gradient:
    /// the output (pre-filled with garbage) and every gradient (pre-filled with random values, so backward must add) agree.</summary>
    internal static void CompareBackends(TwinBackends twins, Layer layer, TensorShape shape, double inputScale, double parameterScale)
    {
        var outputShape = layer.InferOutputShape("layer", [shape]);
        var x = twins.Random(shape, "x", inputScale);
        var y = twins.Random(outputShape, "y", 100);
        var dy = twins.Random(outputShape, "dy");
        var dx = twins.Random(shape, "dx");
        Twin[] parameters = [.. layer.Parameters.Select(p => twins.Random(p.Shape, p.Name, parameterScale))];
        Twin[] grads = [.. layer.Parameters.Select(p => twins.Random(p.Shape, "d" + p.Name))];
        twins.Run(backend =>
        {
            using var pass = new LayerPass(layer, backend, x[backend], dx[backend], y[backend], [.. parameters.Select(p => p[backend])], [.. grads.Select(g => g[backend])]);
            pass.Forward();
            pass.Backward(dy[backend]);
        });
        TwinBackends.AssertSame(y, $"{layer.Type} y");
        TwinBackends.AssertSame(dx, $"{layer.Type} dx");
        foreach (var g in grads) TwinBackends.AssertSame(g, $"{layer.Type} {g.Cpu.Name}");
    }

    public void Dispose()
    {
        foreach (var tensor in workspace) tensor.Dispose();
    }
}
