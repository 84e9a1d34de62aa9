namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// Every GL op against the CPU reference on seeded random data: odd sizes, batch 1 and 7, every
/// padding/stride combination, dilation, asymmetric padding, overlapping pools, 1×1 convolutions,
/// 1/3/5 channels. Forward outputs are pre-filled with garbage (they must be overwritten) and gradients
/// with random values (backward must add to them).
/// </summary>
public sealed class GLOpTests : GLFixture
{
    public sealed record PoolCase(int N, int C, int H, int W, Window2d Window)
    {
        public override string ToString() => $"x({N},{C},{H},{W}) {Window}";
    }

    static IEnumerable<PoolCase> PoolCases()
    {
        yield return new(1, 1, 4, 4, Window2d.Square(2, 2));
        yield return new(7, 3, 28, 28, Window2d.Square(2, 2));                           // LeNet pooling
        yield return new(7, 5, 9, 11, Window2d.Square(3, 2));                            // overlapping, odd sizes
        yield return new(1, 3, 7, 7, Window2d.Square(3, 1, 1));                          // stride 1, padding 1
        yield return new(7, 1, 8, 9, new Window2d(3, 2, 2, 1, 1, 0, 0, 1));               // asymmetric kernel/stride/padding
        yield return new(1, 5, 10, 11, new Window2d(3, 3, 2, 2, 1, 1, 1, 1, 2, 2));       // dilation 2
        yield return new(7, 3, 6, 13, new Window2d(2, 3, 1, 3, 1, 1, 0, 1, 1, 2));        // dilation 1×2
        yield return new(1, 1, 5, 5, Window2d.Square(5, 5, 2));                          // window larger than the input half
    }

    [TestCaseSource(nameof(PoolCases))]
    public void MaxPool2dForwardAndBackwardMatchCpu(PoolCase c)
    {
        var window = c.Window;
        var outputShape = new TensorShape(c.N, c.C, window.OutputHeight(c.H, "pool"), window.OutputWidth(c.W, "pool"));
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(c));
        var x = twins.Random(new TensorShape(c.N, c.C, c.H, c.W), "x");
        var y = twins.Random(outputShape, "y", 100);
        var argmax = twins.Random(outputShape, "argmax", 100);
        twins.Run(be => be.MaxPool2dForward(x[be], y[be], argmax[be], window));
        TwinBackends.AssertSame(y, "max pool forward y");
        Assert.That(argmax.Gl.ToArray(), Is.EqualTo(argmax.Cpu.ToArray()), "max pool argmax");

        var dy = twins.Random(outputShape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        twins.Run(be => be.MaxPool2dBackward(argmax[be], dy[be], dx[be], window));
        TwinBackends.AssertSame(dx, "max pool backward dx");
    }

    [Test]
    public void MaxPool2dArgmaxIsTheFirstMaximum()
    {
        // Ties everywhere: every window's first in-bounds element must win.
        var window = Window2d.Square(3, 2, 1);
        using var twins = new TwinBackends(Backend, 3);
        var x = twins.FromValues(new TensorShape(1, 2, 5, 5), "x", Enumerable.Repeat(1f, 50).ToArray());
        var outputShape = new TensorShape(1, 2, 3, 3);
        var y = twins.Random(outputShape, "y");
        var argmax = twins.Random(outputShape, "argmax");
        twins.Run(be => be.MaxPool2dForward(x[be], y[be], argmax[be], window));
        float[] expected = [0, 1, 3, 5, 6, 8, 15, 16, 18];
        Assert.That(argmax.Gl.ToArray(), Is.EqualTo(expected.Concat(expected).ToArray()));
        Assert.That(argmax.Cpu.ToArray(), Is.EqualTo(argmax.Gl.ToArray()));
    }

    [TestCaseSource(nameof(PoolCases))]
    public void AvgPool2dForwardAndBackwardMatchCpu(PoolCase c)
    {
        foreach (bool countIncludePad in new[] { true, false })
        {
            var window = c.Window;
            var outputShape = new TensorShape(c.N, c.C, window.OutputHeight(c.H, "pool"), window.OutputWidth(c.W, "pool"));
            using var twins = new TwinBackends(Backend, TwinBackends.Seed(c));
            var x = twins.Random(new TensorShape(c.N, c.C, c.H, c.W), "x");
            var y = twins.Random(outputShape, "y", 100);
            twins.Run(be => be.AvgPool2dForward(x[be], y[be], window, countIncludePad));
            TwinBackends.AssertSame(y, $"avg pool forward y (countIncludePad {countIncludePad})");

            var dy = twins.Random(outputShape, "dy");
            var dx = twins.Random(x.Cpu.Shape, "dx");
            twins.Run(be => be.AvgPool2dBackward(dy[be], dx[be], window, countIncludePad));
            TwinBackends.AssertSame(dx, $"avg pool backward dx (countIncludePad {countIncludePad})");
        }
    }

    [TestCase(1, 1, 1, true)]
    [TestCase(7, 13, 5, true)]
    [TestCase(1, 17, 10, false)]
    [TestCase(64, 400, 120, true)]
    [TestCase(7, 84, 10, true)]
    [TestCase(5, 3, 33, false)]
    [TestCase(1, 400, 120, true)] // LeNet-5's fc1 at batch 1: vec4 loads, one row a block
    [TestCase(3, 8, 5, false)]
    public void LinearForwardAndBackwardMatchCpu(int n, int inFeatures, int outFeatures, bool hasBias)
    {
        using var twins = new TwinBackends(Backend, n * 1000 + inFeatures * 10 + outFeatures);
        var x = twins.Random(new TensorShape(n, inFeatures), "x");
        var w = twins.Random(new TensorShape(outFeatures, inFeatures), "w");
        var b = hasBias ? twins.Random(new TensorShape(outFeatures), "b") : null;
        var y = twins.Random(new TensorShape(n, outFeatures), "y", 100);
        twins.Run(be => be.LinearForward(x[be], w[be], b?[be], y[be]));
        TwinBackends.AssertSame(y, "linear forward y");

        var dy = twins.Random(y.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        var dw = twins.Random(w.Cpu.Shape, "dw");
        var db = hasBias ? twins.Random(new TensorShape(outFeatures), "db") : null;
        twins.Run(be => be.LinearBackward(x[be], w[be], dy[be], dx[be], dw[be], db?[be]));
        TwinBackends.AssertSame(dx, "linear backward dx");
        TwinBackends.AssertSame(dw, "linear backward dW");
        if (db is not null) TwinBackends.AssertSame(db, "linear backward db");

        // A first layer needs no dx.
        twins.Run(be => be.LinearBackward(x[be], w[be], dy[be], null, dw[be], null));
        TwinBackends.AssertSame(dw, "linear backward dW, second accumulation without dx");
    }

    /// <summary>linear.comp's VECTOR_K variant (in_features a multiple of 4) sums k = 0, 1, 2, … as the scalar loop
    /// does: the same product with a zero feature appended (401 features: the scalar loop, one more exact
    /// <c>fma(0, 0, sum)</c>) gives the same bits, with 1 row a block (batch 1–3) and 4 (batch 5).</summary>
    [TestCase(1, true)]
    [TestCase(3, false)]
    [TestCase(5, true)]
    public void LinearForward_VectorLoadsGiveTheScalarLoopsBits(int n, bool relu)
    {
        const int inFeatures = 400, outFeatures = 120;
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(n, relu));
        var x = twins.Random(new TensorShape(n, inFeatures), "x");
        var w = twins.Random(new TensorShape(outFeatures, inFeatures), "w");
        var b = twins.Random(new TensorShape(outFeatures), "b");
        float[] xValues = x.Cpu.ToArray(), wValues = w.Cpu.ToArray();
        var xPadded = twins.FromValues(new TensorShape(n, inFeatures + 1), "x padded", Padded(xValues, n, inFeatures));
        var wPadded = twins.FromValues(new TensorShape(outFeatures, inFeatures + 1), "w padded", Padded(wValues, outFeatures, inFeatures));
        var y = twins.Random(new TensorShape(n, outFeatures), "y", 100);
        var yScalar = twins.Random(new TensorShape(n, outFeatures), "y scalar", 100);
        if (relu)
        {
            Backend.LinearFusedForward(x.Gl, w.Gl, b.Gl, ActivationKind.ReLU, 0f, y.Gl);
            Backend.LinearFusedForward(xPadded.Gl, wPadded.Gl, b.Gl, ActivationKind.ReLU, 0f, yScalar.Gl);
        }
        else
        {
            Backend.LinearForward(x.Gl, w.Gl, b.Gl, y.Gl);
            Backend.LinearForward(xPadded.Gl, wPadded.Gl, b.Gl, yScalar.Gl);
        }
        float[] vector = y.Gl.ToArray(), scalar = yScalar.Gl.ToArray();
        for (int i = 0; i < vector.Length; i++)
            Assert.That(BitConverter.SingleToInt32Bits(vector[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(scalar[i])),
                $"y[{i / outFeatures},{i % outFeatures}]: {vector[i]:R} with vec4 loads, {scalar[i]:R} with the scalar loop");
        twins.Run(be => be.LinearForward(x[be], w[be], b[be], y[be]));
        TwinBackends.AssertSame(y, "linear forward y against the CPU");

        static float[] Padded(float[] values, int rows, int columns)
        {
            var padded = new float[rows * (columns + 1)];
            for (int r = 0; r < rows; r++) Array.Copy(values, r * columns, padded, r * (columns + 1), columns);
            return padded;
        }
    }

    [Test]
    public void LinearAcceptsFlattenedFeatureMaps()
    {
        using var twins = new TwinBackends(Backend, 11);
        var x = twins.Random(new TensorShape(3, 4, 5, 5), "x");
        var w = twins.Random(new TensorShape(7, 100), "w");
        var y = twins.Random(new TensorShape(3, 7), "y");
        twins.Run(be => be.LinearForward(x[be], w[be], null, y[be]));
        TwinBackends.AssertSame(y, "linear forward on (N,C,H,W) input");
    }

    [TestCase(1, 1, false)]
    [TestCase(7, 10, false)]
    [TestCase(64, 10, true)]
    [TestCase(3, 1000, true)]
    [TestCase(5, 7, false, 40.0)]
    public void SoftmaxCrossEntropyMatchesCpu(int n, int classes, bool softTargets, double logitScale = 3.0)
    {
        using var twins = new TwinBackends(Backend, n * 7919 + classes);
        var random = new Random(n + classes);
        var targetValues = new float[n * classes];
        for (int row = 0; row < n; row++)
        {
            if (!softTargets) { targetValues[row * classes + random.Next(classes)] = 1; continue; }
            float sum = 0;
            for (int k = 0; k < classes; k++) sum += targetValues[row * classes + k] = (float)random.NextDouble();
            for (int k = 0; k < classes; k++) targetValues[row * classes + k] /= sum;
        }
        var z = twins.Random(new TensorShape(n, classes), "z", logitScale);
        var t = twins.FromValues(new TensorShape(n, classes), "t", targetValues);
        var p = twins.Random(z.Cpu.Shape, "p", 100);
        var loss = twins.Random(new TensorShape(1), "loss", 100);
        twins.Run(be => be.SoftmaxCrossEntropyForward(z[be], t[be], p[be], loss[be]));
        TwinBackends.AssertSame(p, "softmax probabilities");
        TwinBackends.AssertSame(loss, "cross-entropy loss");

        var dz = twins.Random(z.Cpu.Shape, "dz");
        twins.Run(be => be.SoftmaxCrossEntropyBackward(p[be], t[be], dz[be], 0.5f));
        TwinBackends.AssertSame(dz, "softmax cross-entropy backward");
    }

    [TestCase(1, 0f)]
    [TestCase(1001, 0f)]
    [TestCase(1, 0.9f)]
    [TestCase(1001, 0.9f)]
    public void SgdUpdateMatchesCpu(int length, float momentum)
    {
        using var twins = new TwinBackends(Backend, length);
        var w = twins.Random(new TensorShape(length), "w");
        var g = twins.Random(new TensorShape(length), "g");
        var v = momentum == 0f ? null : twins.Random(new TensorShape(length), "v");
        // two steps: with momentum the second one reads the velocity the first one wrote
        twins.Run(be => be.SgdUpdate(w[be], g[be], v?[be], 0.1f, momentum));
        twins.Run(be => be.SgdUpdate(w[be], g[be], v?[be], 0.05f, momentum));
        TwinBackends.AssertSame(w, $"sgd (momentum {momentum}): weights");
        if (v is not null) TwinBackends.AssertSame(v, $"sgd (momentum {momentum}): velocity");
    }

    [Test]
    public void TransfersFillAndCopy()
    {
        using var a = Backend.Allocate(new TensorShape(3, 5), "a");
        using var b = Backend.Allocate(new TensorShape(15), "b");
        Assert.That(a.ToArray(), Is.All.EqualTo(0f), "Allocate zero-fills");
        var values = Enumerable.Range(0, 15).Select(i => i * 0.5f - 3).ToArray();
        a.Upload(values);
        Assert.That(a.ToArray(), Is.EqualTo(values));
        Backend.Copy(a, b);
        Assert.That(b.ToArray(), Is.EqualTo(values));
        Backend.Fill(a, -2.5f);
        Assert.That(a.ToArray(), Is.All.EqualTo(-2.5f));
        Assert.That(b.ToArray(), Is.EqualTo(values), "Copy made a copy, not a view");
        using var view = b.Reshape(new TensorShape(5, 3));
        Assert.That(view.ToArray(), Is.EqualTo(values), "a view shares the buffer");
        Assert.Throws<ShapeException>(() => Backend.Upload(a, new float[3]));
    }

    [TestCase(1000)]
    [TestCase(300_000)]
    public void UploadAfterFillKeepsTheUpload(int length)
    {
        // NVIDIA (driver 580) let an upload over 64 KiB land before a queued clear, which then wiped it.
        var values = Enumerable.Range(1, length).Select(i => (float)i).ToArray();
        using var a = Backend.Allocate(new TensorShape(length), "a");
        using var b = Backend.Allocate(new TensorShape(length), "b");
        a.Upload(values);
        Assert.That(a.ToArray(), Is.EqualTo(values), "upload into a new tensor");
        Backend.Fill(a, 3);
        a.Upload(values);
        Assert.That(a.ToArray(), Is.EqualTo(values), "upload after fill");
        Backend.Fill(b, 5);
        Backend.Copy(a, b);
        Assert.That(b.ToArray(), Is.EqualTo(values), "copy after fill");
    }

    [Test]
    public void TensorsOfAnotherBackendAreRejected()
    {
        using var twins = new TwinBackends(Backend, 1);
        var x = twins.Random(new TensorShape(4), "x");
        var ex = Assert.Throws<ArgumentException>(() => Backend.ActivationForward(ActivationKind.ReLU, x.Cpu, x.Gl));
        Assert.That(ex!.Message, Does.Contain("'x'").And.Contain("cpu"));
    }
}
