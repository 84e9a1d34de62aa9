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

    public void Dispose()
    {
        foreach (var tensor in workspace) tensor.Dispose();
    }
}
