namespace NeuroPlugin.Init;

/// <summary>
/// Fills a parameter with its initial values from a seeded random source. <c>fanIn</c> is the number
/// of inputs feeding one output (InFeatures, or InChannels·KH·KW), <c>fanOut</c> the number of outputs
/// one input feeds (OutFeatures, or OutChannels·KH·KW).
/// </summary>
public abstract class Initializer
{
    /// <summary>Writes the initial values into <paramref name="values"/>.</summary>
    public abstract void Fill(Span<float> values, int fanIn, int fanOut, Random random);

    /// <summary>Name for files and messages.</summary>
    public abstract string Name { get; }

    /// <summary>PyTorch's default for Linear and Conv2d weights and biases: <c>U(−1/√fanIn, 1/√fanIn)</c>
    /// (what <c>kaiming_uniform_(a=√5)</c> reduces to).</summary>
    public static Initializer PyTorchDefault { get; } = new FanInUniform();

    /// <summary>All zeros.</summary>
    public static Initializer Zeros { get; } = new Constant(0f);

    /// <summary>A uniform sample in [−bound, bound).</summary>
    protected static float Uniform(Random random, float bound) => (float)((random.NextDouble() * 2 - 1) * bound);

    sealed class FanInUniform : Initializer
    {
        public override string Name => "pytorch-default";
        public override void Fill(Span<float> values, int fanIn, int fanOut, Random random)
        {
            float bound = 1f / MathF.Sqrt(fanIn);
            for (int i = 0; i < values.Length; i++) values[i] = Uniform(random, bound);
        }
    }

    /// <summary>Every element set to one value.</summary>
    public sealed class Constant(float value) : Initializer
    {
        public override string Name => value == 0f ? "zeros" : $"constant({value})";
        public override void Fill(Span<float> values, int fanIn, int fanOut, Random random) => values.Fill(value);
    }
}
