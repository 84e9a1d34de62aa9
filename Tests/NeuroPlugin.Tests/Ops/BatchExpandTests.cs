namespace NeuroPlugin.Tests.Ops;

/// <summary>BatchExpand (a constant repeated over the batch, ViT's class token) on the CPU: its values, a finite-difference
/// check of the constant's gradient, and the layer's shapes and state. (GL against the CPU: <see cref="BatchExpandGLTests"/>.)</summary>
public class BatchExpandTests
{
    readonly CpuBackend cpu = new();

    [Test]
    public void Forward_RepeatsTheConstantForEveryItem()
    {
        var c = cpu.Allocate(new TensorShape(1, 3), "c");
        var y = cpu.Allocate(new TensorShape(2, 1, 3), "y");
        c.Upload([1f, -2f, 3f]);
        y.Upload([9f, 9f, 9f, 9f, 9f, 9f]);
        cpu.BatchExpandForward(c, y);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 1f, -2f, 3f, 1f, -2f, 3f }));
    }

    [TestCase(1, 1, 4)]
    [TestCase(5, 2, 3)]
    public void Backward_SumsTheItemsGradients_AndAdds(int batch, int rows, int columns)
    {
        var check = new GradientCheck(new Random(batch * 13 + columns));
        var c = check.RandomTensor(cpu, new TensorShape(rows, columns), "c");
        var y = cpu.Allocate(new TensorShape(batch, rows, columns), "y");
        var dc = cpu.Allocate(c.Shape, "dc");
        check.Run("BatchExpand", [c], y, () => cpu.BatchExpandForward(c, y), [dc], dy => cpu.BatchExpandBackward(dy, dc));
    }

    [Test]
    public void Layer_OutputsTheInputsBatch_AndKeepsItsConstantAsAParameterOrABuffer()
    {
        var learnable = new BatchExpand(new TensorShape(1, 32));
        Assert.That(learnable.InferOutputShape("token", [new TensorShape(5, 3, 8, 8)]), Is.EqualTo(new TensorShape(5, 1, 32)));
        Assert.That(learnable.Parameters.Select(p => (p.Name, p.Shape)), Is.EqualTo(new[] { ("constant", new TensorShape(1, 32)) }));
        Assert.That(learnable.Buffers, Is.Empty);
        var fixedOne = new BatchExpand(new TensorShape(4), learnable: false, value: 2f);
        Assert.That(fixedOne.Parameters, Is.Empty);
        Assert.That(fixedOne.Buffers.Select(b => (b.Name, b.Shape, b.InitialValue)), Is.EqualTo(new[] { ("constant", new TensorShape(4), 2f) }));
        Assert.That(() => new BatchExpand(new TensorShape(2, 3, 4, 5)), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new BatchExpand(new TensorShape(2), value: float.NaN), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ABatchThatDoesNotFitTheConstant_IsAShapeErrorNamingBoth()
    {
        var c = cpu.Allocate(new TensorShape(3), "c");
        var y = cpu.Allocate(new TensorShape(2, 4), "y");
        Assert.That(() => cpu.BatchExpandForward(c, y), Throws.TypeOf<ShapeException>().With.Message.Contains("'y'").And.Message.Contains("'c'"));
    }
}
