namespace NeuroPlugin.Tests.TestSupport;

/// <summary>
/// Finite-difference gradient check of one op on a backend. The op is seen as <c>y = f(x₁…x_k)</c>;
/// with a fixed random <c>r</c>, the scalar <c>L = Σ r·y</c> has <c>∂L/∂x = backward(dy = r)</c>, and the
/// check compares that with the central difference <c>(L(x + ε) − L(x − ε)) / 2ε</c> at sampled elements.
/// Backward is called on gradients pre-filled with random values, which also checks that it adds.
/// </summary>
public sealed class GradientCheck(Random random)
{
    public double Epsilon { get; init; } = 1e-2;
    /// <summary>float32 forward passes limit the central difference to about this relative accuracy.</summary>
    public double Tolerance { get; init; } = 1e-2;
    public int SamplesPerInput { get; init; } = 40;

    public void Run(string what, Tensor[] inputs, Tensor output, Action forward, Tensor[] gradients, Action<Tensor> backward)
    {
        var backend = output.Backend;
        forward();
        float[] r = RandomValues(output.Length, 1.0);
        using var outputGrad = backend.Allocate(output.Shape, "dy");
        outputGrad.Upload(r);

        var before = gradients.Select(g => RandomValues(g.Length, 1.0)).ToArray();
        for (int i = 0; i < gradients.Length; i++) gradients[i].Upload(before[i]);
        backward(outputGrad);

        for (int i = 0; i < inputs.Length; i++)
        {
            float[] analytic = gradients[i].ToArray();
            for (int j = 0; j < analytic.Length; j++) analytic[j] -= before[i][j];
            float[] x = inputs[i].ToArray();
            var numeric = new List<float>();
            var expected = new List<float>();
            int count = Math.Min(SamplesPerInput, x.Length);
            var picks = Enumerable.Range(0, x.Length).OrderBy(_ => random.Next()).Take(count).ToArray();
            foreach (int j in picks)
            {
                float original = x[j];
                x[j] = (float)(original + Epsilon); inputs[i].Upload(x); forward();
                double plus = Objective(output, r);
                x[j] = (float)(original - Epsilon); inputs[i].Upload(x); forward();
                double minus = Objective(output, r);
                x[j] = original; inputs[i].Upload(x);
                numeric.Add((float)((plus - minus) / (2 * Epsilon)));
                expected.Add(analytic[j]);
            }
            forward();
            TensorAssert.AreClose(numeric.ToArray(), expected.ToArray(), Tolerance, $"{what}: gradient of input {i} ({inputs[i].Name})");
        }
    }

    static double Objective(Tensor output, float[] r)
    {
        float[] y = output.ToArray();
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += (double)r[i] * y[i];
        return sum;
    }

    /// <summary>A tensor on <paramref name="backend"/> holding <see cref="RandomValues"/> (the caller disposes it).</summary>
    public Tensor RandomTensor(IBackend backend, TensorShape shape, string name, double scale = 1)
    {
        var tensor = backend.Allocate(shape, name);
        tensor.Upload(RandomValues(shape.Length, scale));
        return tensor;
    }

    public float[] RandomValues(int length, double scale)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }
}
