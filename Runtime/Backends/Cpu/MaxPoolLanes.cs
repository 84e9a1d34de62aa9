using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// The vector operations of max pooling's interior (<see cref="MaxPoolLanes.Run{TLanes, TVector}"/>) at one vector width:
/// <see cref="Count"/> outputs of a row at a time, for window strides 1 and 2 along the row. One implementation a width, so
/// that the interior's loop is written once (.NET 8, which the Runtime also targets, has no <c>ISimdVector</c>).
/// </summary>
internal interface IMaxPoolLanes<TVector> where TVector : struct
{
    /// <summary>Outputs per vector.</summary>
    static abstract int Count { get; }
    /// <summary>A tap of <see cref="Count"/> outputs: <c>x[start + lane·stride]</c> (consecutive inputs for stride 1, the
    /// even ones of <c>2·Count</c> for stride 2), reading <c>Count·stride</c> floats from <paramref name="start"/>.</summary>
    static abstract TVector Load(ref float x, nint start, int stride);
    /// <summary><c>lane·stride</c>: <see cref="Positions"/>' steps, made once a call.</summary>
    static abstract TVector Steps(int stride);
    /// <summary><c>start + steps</c>, the flat input index of each lane's tap.</summary>
    static abstract TVector Positions(int start, TVector steps);
    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TVector Fill(float value);
    /// <summary><c>a + b</c>, lane by lane.</summary>
    static abstract TVector Add(TVector a, TVector b);
    /// <summary>Where <paramref name="value"/> &gt; <paramref name="best"/> (never for NaN), takes it and its position.</summary>
    static abstract void KeepLarger(TVector value, TVector position, ref TVector best, ref TVector bestIndex);
    /// <summary>Writes the lanes to <paramref name="target"/>, <see cref="Count"/> floats from <paramref name="at"/>.</summary>
    static abstract void Store(TVector vector, ref float target, nint at);
}

/// <summary>The widths of <see cref="IMaxPoolLanes{TVector}"/> and the interior's loop.</summary>
internal static class MaxPoolLanes
{
    /// <summary>Outputs a vector of the fastest width this processor has: 16 (AVX-512F), 8 (AVX2), or 0 (scalar only).</summary>
    public static int FastestCount => Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? Lanes512.Count
        : Avx2.IsSupported && Vector256.IsHardwareAccelerated ? Lanes256.Count : 0;

    /// <summary>
    /// Outputs (i, j … j + vectors·Count − 1) of a max pooling whose window rows all lie inside the input, a vector of
    /// Count at a time: the window's valid rows, the first tap taken as is and each later one only where strictly larger
    /// (the scalar rule: the first maximum in window order, NaN never replacing a value once one is taken).
    /// <paramref name="x"/> is the plane, readable for <c>Count·stride</c> floats from every tap's start (checked once); a
    /// window with no valid row gives −∞ and index −1. A call runs a whole row's vectors, so that the valid rows are found
    /// once and no span is sliced per tap (one vector a call cost 24 processor cycles an output on a Zen 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TLanes, TVector>(ReadOnlySpan<float> x, int inputHeight, int inputWidth, in Window2d w, int i, int j, int vectors,
        Span<float> y, Span<float> argmax) where TLanes : IMaxPoolLanes<TVector> where TVector : struct
    {
        int s = w.StrideWidth, count = TLanes.Count, kernelWidth = w.KernelWidth, dilation = w.DilationWidth;
        if (vectors <= 0) return;
        if (y.Length < vectors * count || argmax.Length < vectors * count)
            throw new ArgumentException($"{vectors} vectors of {count} outputs do not fit the row ({y.Length} and {argmax.Length} floats)");
        // the window's valid rows, [firstRow, firstRow + rows·DH) by DH (consecutive p, as ih grows with p)
        int firstRow = 0, rows = 0;
        for (int p = 0; p < w.KernelHeight; p++)
        {
            int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
            if ((uint)ih >= (uint)inputHeight) continue;
            if (rows++ == 0) firstRow = ih;
        }
        ref float values = ref MemoryMarshal.GetReference(y), indices = ref MemoryMarshal.GetReference(argmax);
        if (rows == 0)
        {
            for (int v = 0; v < vectors; v++)
            {
                TLanes.Store(TLanes.Fill(float.NegativeInfinity), ref values, v * count);
                TLanes.Store(TLanes.Fill(-1f), ref indices, v * count);
            }
            return;
        }
        // tap (r, q) of vector v starts at first + v·Count·stride + r·rowStride + q·dilation
        int first = firstRow * inputWidth + j * s - w.PadLeft, rowStride = w.DilationHeight * inputWidth;
        long lastRead = first + (long)(rows - 1) * rowStride + (kernelWidth - 1) * dilation + (long)vectors * count * s;
        if (first < 0 || lastRead > x.Length)
            throw new ArgumentException($"the window's taps read [{first}, {lastRead}) of a plane of {x.Length} floats");
        TVector steps = TLanes.Steps(s);
        ref float plane = ref MemoryMarshal.GetReference(x);
        for (int v = 0; v < vectors; v++)
        {
            // the best value and its tap's distance from the first tap; the index is the first tap's position plus it
            nint start = first + v * count * s;
            TVector best = TLanes.Load(ref plane, start, s), distance = TLanes.Fill(0f);
            for (int r = 0; r < rows; r++)
                for (int q = r == 0 ? 1 : 0; q < kernelWidth; q++)
                {
                    int at = r * rowStride + q * dilation;
                    TLanes.KeepLarger(TLanes.Load(ref plane, start + at, s), TLanes.Fill(at), ref best, ref distance);
                }
            TLanes.Store(best, ref values, v * count);
            TLanes.Store(TLanes.Add(TLanes.Positions((int)start, steps), distance), ref indices, v * count);
        }
    }

    /// <summary>16 outputs in a 512-bit vector (AVX-512F: stride 2 gathers the even floats with one two-source permute).</summary>
    public readonly struct Lanes512 : IMaxPoolLanes<Vector512<float>>
    {
        static readonly Vector512<int> Evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        static readonly Vector512<float> Lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

        public static int Count => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(ref float x, nint start, int stride) => stride == 1
            ? Vector512.LoadUnsafe(ref x, (nuint)start)
            : Avx512F.PermuteVar16x32x2(Vector512.LoadUnsafe(ref x, (nuint)start), Evens, Vector512.LoadUnsafe(ref x, (nuint)(start + 16)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Steps(int stride) => Lanes * stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Positions(int start, Vector512<float> steps) => Vector512.Create((float)start) + steps;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Fill(float value) => Vector512.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void KeepLarger(Vector512<float> value, Vector512<float> position, ref Vector512<float> best, ref Vector512<float> bestIndex)
        {
            var larger = Vector512.GreaterThan(value, best);
            best = Vector512.ConditionalSelect(larger, value, best);
            bestIndex = Vector512.ConditionalSelect(larger, position, bestIndex);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<float> vector, ref float target, nint at) => vector.StoreUnsafe(ref target, (nuint)at);
    }

    /// <summary>8 outputs in a 256-bit vector (AVX2: stride 2 takes the even floats of each 128-bit half of two loads, then
    /// puts the halves in order).</summary>
    public readonly struct Lanes256 : IMaxPoolLanes<Vector256<float>>
    {
        static readonly Vector256<float> Lanes = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);

        public static int Count => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float x, nint start, int stride)
        {
            if (stride == 1) return Vector256.LoadUnsafe(ref x, (nuint)start);
            // a = x0…x7, b = x8…x15: [x0 x2 x8 x10 | x4 x6 x12 x14], then the 64-bit pairs 0, 2, 1, 3
            var mixed = Avx.Shuffle(Vector256.LoadUnsafe(ref x, (nuint)start), Vector256.LoadUnsafe(ref x, (nuint)(start + 8)), 0b10_00_10_00);
            return Avx2.Permute4x64(mixed.AsDouble(), 0b11_01_10_00).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Steps(int stride) => Lanes * stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Positions(int start, Vector256<float> steps) => Vector256.Create((float)start) + steps;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Fill(float value) => Vector256.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void KeepLarger(Vector256<float> value, Vector256<float> position, ref Vector256<float> best, ref Vector256<float> bestIndex)
        {
            // vblendvps (one instruction; ConditionalSelect compiles to three)
            var larger = Avx.CompareGreaterThan(value, best);
            best = Avx.BlendVariable(best, value, larger);
            bestIndex = Avx.BlendVariable(bestIndex, position, larger);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<float> vector, ref float target, nint at) => vector.StoreUnsafe(ref target, (nuint)at);
    }
}
