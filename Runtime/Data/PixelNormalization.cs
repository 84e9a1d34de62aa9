namespace NeuroPlugin.Data;

/// <summary>
/// How 8-bit grayscale pixels become network inputs: <c>value = (x/255 − Mean) / Std</c> for each pixel
/// <c>x ∈ 0..255</c>, with Mean and Std the statistics of <c>x/255</c> over the training set. <see cref="Identity"/> (mean 0, std 1) gives plain <c>x/255 ∈ [0,1]</c>.
/// </summary>
public sealed record PixelNormalization
{
    /// <summary>A normalization with the given statistics of <c>x/255</c> over the training set.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mean"/> is not finite, or <paramref name="std"/> is not finite and positive.</exception>
    public PixelNormalization(float mean, float std)
    {
        if (!float.IsFinite(mean))
            throw new ArgumentOutOfRangeException(nameof(mean), $"pixel mean must be finite, got {mean}");
        if (!float.IsFinite(std) || std <= 0)
            throw new ArgumentOutOfRangeException(nameof(std), $"pixel std must be finite and > 0, got {std}");
        Mean = mean;
        Std = std;
    }

    /// <summary>Mean of <c>x/255</c>, subtracted first.</summary>
    public float Mean { get; }
    /// <summary>Standard deviation of <c>x/255</c>, divided by second (&gt; 0).</summary>
    public float Std { get; }

    /// <summary>No centring: <c>value = x/255</c>.</summary>
    public static PixelNormalization Identity { get; } = new(0f, 1f);

    /// <summary><c>(x/255 − Mean) / Std</c>, computed in double and rounded once to float.</summary>
    public float Apply(byte pixel) => (float)((pixel / 255.0 - Mean) / Std);

    /// <summary>Fills a 256-entry lookup table, <c>table[x] = Apply(x)</c>, so normalizing a batch is one load per pixel.</summary>
    public void FillTable(Span<float> table)
    {
        if (table.Length != 256)
            throw new ArgumentException($"a pixel lookup table has 256 entries, got {table.Length}", nameof(table));
        for (int x = 0; x < 256; x++)
            table[x] = Apply((byte)x);
    }

    /// <summary>"(x/255 − 0.286) / 0.353".</summary>
    public override string ToString() => $"(x/255 − {Mean}) / {Std}";
}
