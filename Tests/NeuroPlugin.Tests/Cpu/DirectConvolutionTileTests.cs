namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// The direct convolution's register tiles (<see cref="DirectConvolution"/>: AVX2's 6 × 16, with a 6 × 8 tile for a run's
/// last 8 columns or fewer, and 4 × 24; AVX-512's 8 × 32, with an 8 × 16 tile for a run's last 16 columns or fewer).
/// Each output element is one chain of fused multiply-adds over k ascending from zero, whichever tile computes it, so every
/// tile must give the bits of a scalar chain of <see cref="MathF.FusedMultiplyAdd"/> over the zero-padded input (written
/// here from the definition, without phase planes), also where K is summed in blocks (each block continuing the sums of
/// the one before). And the tile the run picks by default is the one that drops fewer products.
/// </summary>
public class DirectConvolutionTileTests
{
    public sealed record Case(int Batch, int Channels, int Outputs, int Size, Window2d Window)
    {
        public override string ToString() =>
            $"N{Batch} C{Channels}→{Outputs} {Size}×{Size} k{Window.KernelHeight} s{Window.StrideHeight} p{Window.PadTop}";
    }

    public static IEnumerable<Case> Cases() =>
    [
        new(2, 16, 16, 32, Window2d.Square(3, 1, 1)),   // ResNet-20's first stage: 4 × 24 by default
        new(1, 32, 32, 16, Window2d.Square(3, 1, 1)),   // its second
        new(2, 64, 64, 8, Window2d.Square(3, 1, 1)),    // its third: 6 × 16 by default
        new(3, 7, 13, 9, Window2d.Square(3, 1, 1)),     // partial panels of every tile, a 9-wide plane
        new(1, 16, 32, 17, Window2d.Square(3, 2, 1)),   // stride 2, odd plane
        new(2, 5, 10, 11, Window2d.Square(5, 1, 2)),    // 5×5 taps
        new(1, 3, 8, 40, Window2d.Square(1)),           // 1×1, rows of a block longer than a tile
        new(1, 64, 20, 16, Window2d.Square(3, 1, 1)),   // K = 576 over 288 columns (663 KiB): K in 3 blocks
        new(2, 40, 27, 24, Window2d.Square(3, 1, 1)),   // K = 360 over a block of 19 rows: K in blocks, partial panels
        new(1, 320, 20, 7, Window2d.Square(1)),         // MobileNet v2's 7×7 pointwise: 49 columns, the last in 6 × 16's tail of 8
        new(2, 512, 14, 15, Window2d.Square(1)),        // 225 columns (a tail of 1) with K in blocks
    ];

    static IEnumerable<(GemmKernel Kernel, (int Rows, int Columns) Tile)> SupportedTiles()
    {
        if (Gemm.IsSupported(GemmKernel.Vector256Fma))
        {
            yield return (GemmKernel.Vector256Fma, (6, 16));
            yield return (GemmKernel.Vector256Fma, (4, 24));
        }
        if (Gemm.IsSupported(GemmKernel.Vector512Fma)) yield return (GemmKernel.Vector512Fma, (8, 32));
    }

    [TestCaseSource(nameof(Cases))]
    public void EveryTile_GivesTheBitsOfOneFusedChainPerOutput(Case c)
    {
        var tiles = SupportedTiles().ToList();
        if (tiles.Count == 0) Assert.Ignore("this processor has no FMA kernel");
        var (input, weights) = Seeded(c);
        var w = c.Window;
        int outputSize = w.OutputHeight(c.Size, "conv"), plane = outputSize * outputSize;
        float[] expected = FusedChains(c, input, weights);
        var convolution = new DirectConvolution();
        convolution.Build(new ImageBatch(input, c.Channels * c.Size * c.Size, 0, c.Size, c.Size), c.Batch, c.Channels,
            w.KernelHeight, w.KernelWidth, w, threads: 2);
        foreach (var (kernel, tile) in tiles)
        {
            var output = new float[c.Batch * c.Outputs * plane];
            Array.Fill(output, float.NaN);
            convolution.Run(weights, 0, c.Outputs, new ImageBatch(output, c.Outputs * plane, 0, outputSize, outputSize),
                accumulate: false, epilogue: null, kernel, threads: 2, tile);
            for (int i = 0; i < output.Length; i++)
                if (BitConverter.SingleToInt32Bits(output[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                    Assert.Fail($"{c}, {kernel} {tile.Rows}×{tile.Columns}: y[{i}] = {output[i]:R}, the fused chain gives {expected[i]:R}");
            bool deep = (long)convolution.Depth * Gemm.RoundUp(convolution.VirtualColumns, tile.Columns) * sizeof(float) > 512 << 10;
            if (deep) Assert.That(convolution.DepthBlock, Is.LessThan(convolution.Depth), $"{c}, {tile.Rows}×{tile.Columns}: K in blocks");
        }
    }

    [Test]
    public void DefaultTile_IsTheOneThatDropsFewerProducts()
    {
        // ResNet-20's stages at batch 64: 16 and 32 channels fill panels of 4 (panels of 6 compute 18 and 36 rows), while an
        // 8×8 plane's 78 virtual columns fill tiles of 16 better (80) than tiles of 24 (96)
        Assert.That(TileOf(16, 32), Is.EqualTo((4, 24)), "16 channels, 32×32");
        Assert.That(TileOf(32, 16), Is.EqualTo((4, 24)), "32 channels, 16×16");
        Assert.That(TileOf(64, 8), Is.EqualTo((6, 16)), "64 channels, 8×8");
        Assert.That(TileOf(6, 32), Is.EqualTo((6, 16)), "6 channels (LeNet-5's conv1): one whole panel of 6");
        Assert.That(TileOf(512, 7), Is.EqualTo((6, 16)), "512 channels, 7×7: 61 columns are 64 in tiles of 16, 72 in tiles of 24");
    }

    /// <summary>The tile a run of <paramref name="outputs"/> channels takes on a padded 3×3 layer of size × size.</summary>
    static (int, int) TileOf(int outputs, int size)
    {
        var convolution = new DirectConvolution();
        var input = new float[size * size];
        convolution.Build(new ImageBatch(input, size * size, 0, size, size), 1, 1, 3, 3, Window2d.Square(3, 1, 1), threads: 1);
        return convolution.NarrowTile(outputs, Math.Clamp(512 / convolution.PlaneWidth, 1, size));
    }

    [Test]
    public void ATileTheKernelDoesNotHave_IsRefused()
    {
        if (!Gemm.IsSupported(GemmKernel.Vector256Fma)) Assert.Ignore("this processor has no AVX2 FMA kernel");
        var convolution = new DirectConvolution();
        var input = new float[16];
        convolution.Build(new ImageBatch(input, 16, 0, 4, 4), 1, 1, 3, 3, Window2d.Square(3, 1, 1), threads: 1);
        var output = new float[16];
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => convolution.Run(new float[9], 0, 1,
            new ImageBatch(output, 16, 0, 4, 4), false, null, GemmKernel.Vector256Fma, 1, (8, 32)));
        Assert.That(error!.Message, Does.Contain("8×32"));
    }

    static (float[] Input, float[] Weights) Seeded(Case c)
    {
        var random = new Random(c.Channels * 131 + c.Size);
        var input = new float[c.Batch * c.Channels * c.Size * c.Size];
        var weights = new float[c.Outputs * c.Channels * c.Window.KernelHeight * c.Window.KernelWidth];
        for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(random.NextDouble() * 2 - 1);
        return (input, weights);
    }

    /// <summary><c>y[n, o, i, j]</c> = the chain <c>s ← fma(W[o, k], x_padded[n, tap k at (i, j)], s)</c> over k = (c·KH + p)·KW + q
    /// ascending, from s = 0 (a tap in the padding reads 0).</summary>
    static float[] FusedChains(Case c, float[] x, float[] weights)
    {
        var w = c.Window;
        int size = c.Size, outputSize = w.OutputHeight(size, "conv"), taps = w.KernelHeight * w.KernelWidth;
        var y = new float[c.Batch * c.Outputs * outputSize * outputSize];
        for (int n = 0; n < c.Batch; n++)
            for (int o = 0; o < c.Outputs; o++)
                for (int i = 0; i < outputSize; i++)
                    for (int j = 0; j < outputSize; j++)
                    {
                        float sum = 0;
                        for (int ch = 0; ch < c.Channels; ch++)
                            for (int p = 0; p < w.KernelHeight; p++)
                                for (int q = 0; q < w.KernelWidth; q++)
                                {
                                    int row = i * w.StrideHeight - w.PadTop + p, column = j * w.StrideWidth - w.PadLeft + q;
                                    bool inside = (uint)row < (uint)size && (uint)column < (uint)size;
                                    float value = inside ? x[((n * c.Channels + ch) * size + row) * size + column] : 0f;
                                    sum = MathF.FusedMultiplyAdd(weights[(o * c.Channels + ch) * taps + p * w.KernelWidth + q], value, sum);
                                }
                        y[((n * c.Outputs + o) * outputSize + i) * outputSize + j] = sum;
                    }
        return y;
    }
}
