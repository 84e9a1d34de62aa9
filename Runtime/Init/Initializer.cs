using System.Globalization;

namespace NeuroPlugin.Init;

/// <summary>
/// Fills a parameter with its initial values from a seeded random source (the same seed gives the same
/// values). <c>fanIn</c> is the number of inputs feeding one output (InFeatures, or InChannels·KH·KW),
/// <c>fanOut</c> the number of outputs one input feeds (OutFeatures, or OutChannels·KH·KW), as PyTorch's
/// <c>_calculate_fan_in_and_fan_out</c> counts them. Every initializer has a <see cref="Name"/> that
/// <see cref="Parse"/> turns back into an equal initializer, so model files and the editor keep it:
/// <c>pytorch-default</c>, <c>zeros</c>, <c>constant(value=0.1)</c>, <c>normal(mean=0,std=0.01)</c>,
/// <c>uniform(a=-0.1,b=0.1)</c>, <c>xavier_uniform(gain=1)</c>, <c>xavier_normal(gain=1)</c>,
/// <c>kaiming_uniform(gain=1.4142135,mode=fan_in)</c>, <c>kaiming_normal(gain=1.4142135,mode=fan_in)</c>.
/// </summary>
public abstract class Initializer
{
    /// <summary>Writes the initial values into <paramref name="values"/>.</summary>
    public abstract void Fill(Span<float> values, int fanIn, int fanOut, Random random);

    /// <summary>Name for files and messages; <see cref="Parse"/> reads it back.</summary>
    public abstract string Name { get; }

    /// <summary>The initializer's <see cref="Name"/>, e.g. <c>kaiming_normal(gain=1.4142135,mode=fan_in)</c>.</summary>
    public override string ToString() => Name;

    /// <summary>PyTorch's default for Linear and Conv2d weights and biases: <c>U(−1/√fanIn, 1/√fanIn)</c>
    /// (what <c>kaiming_uniform_(a=√5)</c> reduces to).</summary>
    public static Initializer PyTorchDefault { get; } = new FanInUniform();

    /// <summary>All zeros.</summary>
    public static Initializer Zeros { get; } = new Constant(0f);

    /// <summary>All ones (e.g. a normalization layer's scale).</summary>
    public static Initializer Ones { get; } = new Constant(1f);

    /// <summary>Normal distribution <c>N(mean, std²)</c> (PyTorch's <c>normal_</c>); std ≥ 0.</summary>
    public static Initializer Normal(float mean = 0f, float std = 1f)
    {
        RequireFinite(mean, nameof(mean));
        if (!(std >= 0f) || !float.IsFinite(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "normal initializer: std must be finite and ≥ 0");
        return new NormalDistribution(mean, std);
    }

    /// <summary>Uniform distribution <c>U(a, b)</c> (PyTorch's <c>uniform_</c>); a ≤ b.</summary>
    public static Initializer Uniform(float a = 0f, float b = 1f)
    {
        RequireFinite(a, nameof(a));
        RequireFinite(b, nameof(b));
        if (b < a) throw new ArgumentOutOfRangeException(nameof(b), b, $"uniform initializer: b must be ≥ a ({a})");
        return new UniformDistribution(a, b);
    }

    /// <summary>Xavier/Glorot uniform: <c>U(−bound, bound)</c>, <c>bound = gain·√(6/(fanIn + fanOut))</c>
    /// (PyTorch's <c>xavier_uniform_</c>); keeps the variance of activations and gradients for tanh/sigmoid.</summary>
    public static Initializer XavierUniform(float gain = 1f) => new VarianceScaling(Family.XavierUniform, RequireGain(gain), FanMode.FanIn);

    /// <summary>Xavier/Glorot normal: <c>N(0, std²)</c>, <c>std = gain·√(2/(fanIn + fanOut))</c> (PyTorch's <c>xavier_normal_</c>).</summary>
    public static Initializer XavierNormal(float gain = 1f) => new VarianceScaling(Family.XavierNormal, RequireGain(gain), FanMode.FanIn);

    /// <summary>He/Kaiming uniform: <c>U(−bound, bound)</c>, <c>bound = gain·√(3/fan)</c>, fan = fanIn or fanOut by
    /// <paramref name="mode"/> (PyTorch's <c>kaiming_uniform_</c>; its default gain for ReLU is √2, see <see cref="Gain"/>).</summary>
    public static Initializer KaimingUniform(float gain = Sqrt2, FanMode mode = FanMode.FanIn) => new VarianceScaling(Family.KaimingUniform, RequireGain(gain), mode);

    /// <summary>He/Kaiming normal: <c>N(0, std²)</c>, <c>std = gain/√fan</c> (PyTorch's <c>kaiming_normal_</c>;
    /// with gain √2 and fanIn this is the course's He init <c>randn·√(2/n_in)</c>).</summary>
    public static Initializer KaimingNormal(float gain = Sqrt2, FanMode mode = FanMode.FanIn) => new VarianceScaling(Family.KaimingNormal, RequireGain(gain), mode);

    const float Sqrt2 = 1.41421356f;

    /// <summary>
    /// The gain that keeps the activations' variance for a nonlinearity, as PyTorch's <c>calculate_gain</c>:
    /// Sigmoid 1, Tanh 5/3, ReLU √2, LeakyReLU <c>√(2/(1 + α²))</c>. PyTorch has no value for the others; here
    /// ReLU6, SiLU, HardSwish and both GELUs get ReLU's √2 (they pass positive inputs like ReLU and damp negative ones) and
    /// HardSigmoid gets Sigmoid's 1.
    /// </summary>
    public static float Gain(ActivationKind nonlinearity, float negativeSlope = 0.01f) => nonlinearity switch
    {
        ActivationKind.Sigmoid or ActivationKind.HardSigmoid => 1f,
        ActivationKind.Tanh => 5f / 3f,
        ActivationKind.LeakyReLU => MathF.Sqrt(2f / (1f + negativeSlope * negativeSlope)),
        ActivationKind.ReLU or ActivationKind.ReLU6 or ActivationKind.SiLU or ActivationKind.HardSwish or ActivationKind.GELU or ActivationKind.GELUTanh => Sqrt2,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "unknown activation"),
    };

    /// <summary>
    /// A sensible weight initializer for a layer followed by <paramref name="nonlinearity"/>: He
    /// (<see cref="KaimingNormal"/>, fanIn, ReLU-family gain) for ReLU, LeakyReLU (with
    /// <paramref name="negativeSlope"/>), ReLU6, SiLU, HardSwish and GELU; Xavier (<see cref="XavierUniform"/>
    /// with <see cref="Gain"/>) for Sigmoid, Tanh and HardSigmoid. Biases usually start at <see cref="Zeros"/>.
    /// </summary>
    public static Initializer For(ActivationKind nonlinearity, float negativeSlope = 0.01f) => nonlinearity switch
    {
        ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.HardSigmoid => XavierUniform(Gain(nonlinearity)),
        _ => KaimingNormal(Gain(nonlinearity, negativeSlope), FanMode.FanIn),
    };

    /// <summary>Reads an initializer from its <see cref="Name"/>: <c>family</c> or <c>family(key=value,…)</c>.
    /// Throws <see cref="FormatException"/> naming the text for an unknown family, a missing or unknown
    /// argument, or an out-of-range value.</summary>
    public static Initializer Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (family, arguments) = SplitName(text);
        try
        {
            Initializer result = family switch
            {
                "pytorch-default" => PyTorchDefault,
                "zeros" => Zeros,
                "ones" => Ones,
                "constant" => new Constant(arguments.Float("value")),
                "normal" => Normal(arguments.Float("mean"), arguments.Float("std")),
                "uniform" => Uniform(arguments.Float("a"), arguments.Float("b")),
                "xavier_uniform" => XavierUniform(arguments.Float("gain")),
                "xavier_normal" => XavierNormal(arguments.Float("gain")),
                "kaiming_uniform" => KaimingUniform(arguments.Float("gain"), arguments.Mode()),
                "kaiming_normal" => KaimingNormal(arguments.Float("gain"), arguments.Mode()),
                _ => throw new FormatException($"initializer '{text}': unknown kind '{family}'"),
            };
            arguments.CheckAllUsed();
            return result;
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new FormatException($"initializer '{text}': {e.Message}", e);
        }
    }

    /// <summary>A uniform sample in [−bound, bound).</summary>
    protected static float Uniform(Random random, float bound) => (float)((random.NextDouble() * 2 - 1) * bound);

    /// <summary>Fills <paramref name="values"/> with <c>N(mean, std²)</c> samples by the Box–Muller transform
    /// (two uniforms give two independent standard normals).</summary>
    protected static void FillNormal(Span<float> values, double mean, double std, Random random)
    {
        for (int i = 0; i < values.Length; i += 2)
        {
            double radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())); // 1 − u ∈ (0, 1]: never log 0
            double angle = 2 * Math.PI * random.NextDouble();
            values[i] = (float)(mean + std * radius * Math.Cos(angle));
            if (i + 1 < values.Length) values[i + 1] = (float)(mean + std * radius * Math.Sin(angle));
        }
    }

    static string Number(float value) => value.ToString(CultureInfo.InvariantCulture); // shortest text that reads back exactly

    static void RequireFinite(float value, string name)
    {
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, $"initializer: {name} must be finite");
    }

    static float RequireGain(float gain)
    {
        if (!(gain > 0f) || !float.IsFinite(gain)) throw new ArgumentOutOfRangeException(nameof(gain), gain, "initializer: gain must be finite and > 0");
        return gain;
    }

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
    public sealed class Constant : Initializer
    {
        /// <summary>Every element <paramref name="value"/> (finite).</summary>
        public Constant(float value)
        {
            RequireFinite(value, nameof(value));
            Value = value;
        }

        /// <summary>The value every element gets.</summary>
        public float Value { get; }
        /// <summary><c>zeros</c> for 0, <c>ones</c> for 1, otherwise <c>constant(value=…)</c>.</summary>
        public override string Name => Value == 0f ? "zeros" : Value == 1f ? "ones" : $"constant(value={Number(Value)})";
        /// <summary>Sets every element of <paramref name="values"/> to <see cref="Value"/>; the fans and
        /// <paramref name="random"/> are not used.</summary>
        public override void Fill(Span<float> values, int fanIn, int fanOut, Random random) => values.Fill(Value);
    }

    sealed class NormalDistribution(float mean, float std) : Initializer
    {
        public override string Name => $"normal(mean={Number(mean)},std={Number(std)})";
        public override void Fill(Span<float> values, int fanIn, int fanOut, Random random) => FillNormal(values, mean, std, random);
    }

    sealed class UniformDistribution(float a, float b) : Initializer
    {
        public override string Name => $"uniform(a={Number(a)},b={Number(b)})";
        public override void Fill(Span<float> values, int fanIn, int fanOut, Random random)
        {
            for (int i = 0; i < values.Length; i++) values[i] = (float)(a + (b - (double)a) * random.NextDouble());
        }
    }

    enum Family { XavierUniform, XavierNormal, KaimingUniform, KaimingNormal }

    /// <summary>Xavier and Kaiming: a standard deviation from the fans, then <c>N(0, std²)</c> or the uniform
    /// distribution of the same variance, <c>U(−√3·std, √3·std)</c>.</summary>
    sealed class VarianceScaling(Family family, float gain, FanMode mode) : Initializer
    {
        public override string Name => family switch
        {
            Family.XavierUniform => $"xavier_uniform(gain={Number(gain)})",
            Family.XavierNormal => $"xavier_normal(gain={Number(gain)})",
            Family.KaimingUniform => $"kaiming_uniform(gain={Number(gain)},mode={ModeName(mode)})",
            _ => $"kaiming_normal(gain={Number(gain)},mode={ModeName(mode)})",
        };

        public override void Fill(Span<float> values, int fanIn, int fanOut, Random random)
        {
            double std = family is Family.XavierUniform or Family.XavierNormal
                ? gain * Math.Sqrt(2.0 / ((double)fanIn + fanOut))
                : gain / Math.Sqrt(mode == FanMode.FanIn ? fanIn : fanOut);
            if (family is Family.XavierNormal or Family.KaimingNormal)
                FillNormal(values, 0, std, random);
            else
            {
                float bound = (float)(Math.Sqrt(3) * std);
                for (int i = 0; i < values.Length; i++) values[i] = Uniform(random, bound);
            }
        }
    }

    static string ModeName(FanMode mode) => mode == FanMode.FanIn ? "fan_in" : "fan_out";

    static (string Family, Arguments Arguments) SplitName(string text)
    {
        string trimmed = text.Trim();
        int open = trimmed.IndexOf('(');
        if (open < 0) return (trimmed, new Arguments(text, []));
        if (!trimmed.EndsWith(')'))
            throw new FormatException($"initializer '{text}': missing ')'");
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        string inside = trimmed[(open + 1)..^1];
        foreach (string item in inside.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = item.IndexOf('=');
            if (equals <= 0 || !pairs.TryAdd(item[..equals].Trim(), item[(equals + 1)..].Trim()))
                throw new FormatException($"initializer '{text}': argument '{item}' is not a single key=value");
        }
        return (trimmed[..open].Trim(), new Arguments(text, pairs));
    }

    /// <summary>The key=value arguments of a name, each read once.</summary>
    sealed class Arguments(string text, Dictionary<string, string> pairs)
    {
        public float Float(string key)
        {
            if (!pairs.Remove(key, out string? value))
                throw new FormatException($"initializer '{text}': missing argument '{key}'");
            if (!float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float number))
                throw new FormatException($"initializer '{text}': argument '{key}' must be a number, got '{value}'");
            return number;
        }

        public FanMode Mode()
        {
            if (!pairs.Remove("mode", out string? value))
                throw new FormatException($"initializer '{text}': missing argument 'mode'");
            return value switch
            {
                "fan_in" => FanMode.FanIn,
                "fan_out" => FanMode.FanOut,
                _ => throw new FormatException($"initializer '{text}': mode must be fan_in or fan_out, got '{value}'"),
            };
        }

        public void CheckAllUsed()
        {
            if (pairs.Count > 0)
                throw new FormatException($"initializer '{text}': unknown argument '{pairs.Keys.First()}'");
        }
    }
}

/// <summary>Which fan a Kaiming initializer preserves the variance of: <see cref="FanIn"/> (the forward pass's
/// activations, PyTorch's default) or <see cref="FanOut"/> (the backward pass's gradients).</summary>
public enum FanMode
{
    /// <summary>Scale by fanIn: <c>Var(w) = gain² / fanIn</c>, keeping the activations' variance through the forward pass (<c>mode=fan_in</c>).</summary>
    FanIn,
    /// <summary>Scale by fanOut: <c>Var(w) = gain² / fanOut</c>, keeping the gradients' variance through the backward pass (<c>mode=fan_out</c>).</summary>
    FanOut,
}
