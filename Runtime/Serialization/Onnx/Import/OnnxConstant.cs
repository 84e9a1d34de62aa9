namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// A constant known at import time: an initializer, a <c>Constant</c> node's value, or a shape computed from
/// static shapes. Float tensors keep <see cref="Floats"/>; integer and boolean tensors keep <see cref="Ints"/>
/// (shape arithmetic), where <see cref="Batch"/> stands for the batch size N, which is not known until a plan is made, and
/// the values from <see cref="Batch"/> up to <see cref="MinFileInteger"/> for its multiples k·N (<see cref="BatchTimes"/>:
/// MultiheadAttention's N·heads, L·N). The file's own integers are read at <see cref="MinFileInteger"/> or above
/// (<see cref="FromFile"/>), so the two never meet.
/// </summary>
internal sealed class OnnxConstant
{
    /// <summary>The symbolic batch size inside integer shape constants (what <c>Shape</c> gives for axis 0): 1·N.</summary>
    public const long Batch = long.MinValue;

    /// <summary>The least integer a file's constant keeps: −2⁶². Below it lie the batch multiples k·N (k from 1 to 2⁶²).
    /// Exporters write integers that far below 0 only as "before the start" bounds of a reversed Slice (PyTorch's
    /// −2⁶³+1), which mean the same at −2⁶²: every axis is far shorter.</summary>
    public const long MinFileInteger = long.MinValue / 2;

    /// <summary>The symbol for k·N, k ≥ 1 (<see cref="Batch"/> is 1·N).</summary>
    public static long BatchTimes(long k) =>
        k is >= 1 and <= -MinFileInteger ? Batch + (k - 1) : throw new ArgumentOutOfRangeException(nameof(k), k, "a batch multiple is 1 to 2⁶²");

    /// <summary>True when <paramref name="value"/> is a symbol k·N rather than a number.</summary>
    public static bool IsBatchMultiple(long value) => value < MinFileInteger;

    /// <summary>The k of the symbol k·N <paramref name="value"/>.</summary>
    public static long Multiplier(long value) => value - Batch + 1;

    /// <summary>An integer shape value for messages: a number, <c>N</c> or <c>kN</c>.</summary>
    public static string Text(long value) =>
        !IsBatchMultiple(value) ? value.ToString() : Multiplier(value) == 1 ? "N" : $"{Multiplier(value)}N";

    OnnxConstant(long[] dims, float[]? floats, long[]? ints)
    {
        Dims = dims;
        Floats = floats;
        Ints = ints;
    }

    /// <summary>A float tensor of shape <paramref name="dims"/>.</summary>
    public static OnnxConstant OfFloats(long[] dims, float[] values) => new(dims, values, null);
    /// <summary>An integer tensor of shape <paramref name="dims"/> (its values may be batch multiples).</summary>
    public static OnnxConstant OfInts(long[] dims, long[] values) => new(dims, null, values);
    /// <summary>An integer tensor of the file: values below <see cref="MinFileInteger"/> are read as it (see there).</summary>
    public static OnnxConstant FromFile(long[] dims, long[] values) => new(dims, null, [.. values.Select(v => Math.Max(v, MinFileInteger))]);

    public long[] Dims { get; }
    public float[]? Floats { get; }
    public long[]? Ints { get; }
    public bool IsFloat => Floats is not null;
    public int Length => Floats?.Length ?? Ints!.Length;

    /// <summary>The values as floats (integers converted); the symbolic batch cannot be.</summary>
    public float[] AsFloats(Func<string, Exception> fail) =>
        Floats ?? Ints!.Select(v => IsBatchMultiple(v) ? throw fail("the batch size is not a constant") : (float)v).ToArray();

    /// <summary>The values as integers (floats must be whole numbers).</summary>
    public long[] AsInts(Func<string, Exception> fail) =>
        Ints ?? Floats!.Select(v => v == MathF.Round(v) ? (long)v : throw fail($"{v} is not an integer")).ToArray();

    /// <summary>The one value of a scalar argument (Clip's bounds, Dropout's ratio) of node <paramref name="n"/>.</summary>
    public float Scalar(OnnxNodeReader n) =>
        Length == 1 ? AsFloats(m => n.Unsupported(m))[0] : throw n.Malformed($"expected a scalar, got {this}");

    /// <summary>A copy of the values as a vector of <paramref name="length"/> (a bias, a batch norm's statistics); one
    /// value is repeated. <paramref name="what"/> names the argument of <paramref name="n"/> in errors.</summary>
    public float[] ToVector(OnnxNodeReader n, int length, string what)
    {
        float[] values = AsFloats(m => n.Unsupported($"{what}: {m}"));
        if (values.Length == length) return (float[])values.Clone();
        if (values.Length == 1) return Enumerable.Repeat(values[0], length).ToArray();
        throw n.Malformed($"{what} {this} needs {length} values");
    }

    /// <summary>The same values with shape <paramref name="dims"/> (same element count).</summary>
    public OnnxConstant WithDims(long[] dims) => IsFloat ? OfFloats(dims, Floats!) : OfInts(dims, Ints!);

    public override string ToString() => $"[{string.Join(",", Dims)}]";
}
