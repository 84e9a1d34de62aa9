namespace NeuroPlugin.Backends.Cpu;

// Element-wise math functions (UnaryOp), forward and backward.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void UnaryForward(UnaryOp op, Tensor input, Tensor output)
    {
        if (Skips) return;
        Span<float> x = Data(input), y = Data(output);
        for (int i = 0; i < x.Length; i++) y[i] = UnaryValue(op, x[i]);
    }

    /// <inheritdoc/>
    public void UnaryBackward(UnaryOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        if (Skips) return;
        // In the forward pass this was y = f(x): dx += f′·dy, f′ from x or the saved y (see UnaryOp).
        Span<float> x = Data(input), y = Data(output), dy = Data(outputGrad), dx = Data(inputGrad);
        for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * UnaryDerivative(op, x[i], y[i]);
    }

    /// <summary><c>f(x)</c> (see <see cref="UnaryOp"/>).</summary>
    internal static float UnaryValue(UnaryOp op, float x) => op switch
    {
        UnaryOp.Neg => -x,
        UnaryOp.Abs => MathF.Abs(x),
        UnaryOp.Reciprocal => 1f / x,
        UnaryOp.Sqrt => MathF.Sqrt(x),
        UnaryOp.Exp => MathF.Exp(x),
        UnaryOp.Log => MathF.Log(x),
        UnaryOp.Erf => (float)Erf(x),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown element-wise function"),
    };

    /// <summary><c>f′(x)</c>, from x or from the output <paramref name="y"/> = f(x) (see <see cref="UnaryOp"/>).</summary>
    internal static float UnaryDerivative(UnaryOp op, float x, float y) => op switch
    {
        UnaryOp.Neg => -1f,
        UnaryOp.Abs => MathF.Sign(x),
        UnaryOp.Reciprocal => -(y * y),
        UnaryOp.Sqrt => 1f / (2f * y),
        UnaryOp.Exp => y,
        UnaryOp.Log => 1f / x,
        UnaryOp.Erf => (float)(TwoOverSqrtPi * Math.Exp(-(double)x * x)),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown element-wise function"),
    };

    const double TwoOverSqrtPi = 1.1283791670955126;

    /// <summary>erf x in double precision (the reference for float32 results): the Maclaurin series
    /// <c>2/√π Σ (−1)ⁿ x^(2n+1) / (n!(2n+1))</c> below |x| = 4, where double keeps its cancellation below 1e-11, and
    /// <c>1 − erfc x</c> from six terms of erfc's asymptotic series above, whose error there is below 1e-13.</summary>
    internal static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a < 4.0)
        {
            double term = x, sum = x, square = x * x;
            for (int n = 1; Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= -square / n;
                sum += term / (2 * n + 1);
            }
            return TwoOverSqrtPi * sum;
        }
        if (a > 6.0) return Math.Sign(x); // erfc 6 < 3e-17
        // erfc a ≈ e^(−a²)/(a√π) · Σ (−1)ᵏ (2k−1)!! / (2a²)ᵏ
        double inverse = 1.0 / (2.0 * a * a), series = 1.0, t = 1.0;
        for (int k = 1; k <= 6; k++)
        {
            t *= -(2 * k - 1) * inverse;
            series += t;
        }
        double erfc = Math.Exp(-a * a) / (a * Math.Sqrt(Math.PI)) * series;
        return Math.Sign(x) * (1.0 - erfc);
    }
}
