using System.Runtime.CompilerServices;
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
    /// even ones of <c>2·Count</c> for stride 2).</summary>
    static abstract TVector Load(ReadOnlySpan<float> x, int start, int stride);
    /// <summary><c>lane·stride</c>: <see cref="Positions"/>' steps, made once a call.</summary>
    static abstract TVector Steps(int stride);
    /// <summary><c>start + steps</c>, the flat input index of each lane's tap.</summary>
    static abstract TVector Positions(int start, TVector steps);
    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TVector Fill(float value);
    /// <summary>Where <paramref name="value"/> &gt; <paramref name="best"/> (never for NaN), takes it and its position.</summary>
    static abstract void KeepLarger(TVector value, TVector position, ref TVector best, ref TVector bestIndex);
    /// <summary>Writes the lanes to <paramref name="target"/> (at least <see cref="Count"/> long).</summary>
    static abstract void Store(TVector vector, Span<float> target);
}

/// <summary>The widths of <see cref="IMaxPoolLanes{TVector}"/> and the interior's loop.</summary>
internal static class MaxPoolLanes
{
    /// <summary>Outputs a vector of the fastest width this processor has: 16 (AVX-512F), 8 (AVX2), or 0 (scalar only).</summary>
    public static int FastestCount => Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? Lanes512.Count
        : Avx2.IsSupported && Vector256.IsHardwareAccelerated ? Lanes256.Count : 0;

    /// <summary>
    /// Outputs (i, j … j + Count − 1) of a max pooling whose window rows all lie inside the input: the window's valid
    /// rows, the first tap taken as is and each later one only where strictly larger (the scalar rule: the first maximum in
    /// window order, NaN never replacing a value once one is taken). <paramref name="x"/> is the plane, readable for
    /// <c>Count·stride</c> floats from every tap's start; a window with no valid row gives −∞ and index −1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TLanes, TVector>(ReadOnlySpan<float> x, int inputHeight, int inputWidth, in Window2d w, int i, int j,
        Span<float> y, Span<float> argmax) where TLanes : IMaxPoolLanes<TVector> where TVector : struct
    {
        int s = w.StrideWidth;
        TVector steps = TLanes.Steps(s);
        TVector best = TLanes.Fill(float.NegativeInfinity), bestIndex = TLanes.Fill(-1f);
        bool any = false;
        for (int p = 0; p < w.KernelHeight; p++)
        {
            int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
            if ((uint)ih >= (uint)inputHeight) continue;
            for (int q = 0; q < w.KernelWidth; q++)
            {
                int start = ih * inputWidth + j * s - w.PadLeft + q * w.DilationWidth;
                TVector v = TLanes.Load(x, start, s), position = TLanes.Positions(start, steps);
                if (!any) (best, bestIndex, any) = (v, position, true);
                else TLanes.KeepLarger(v, position, ref best, ref bestIndex);
            }
        }
        TLanes.Store(best, y);
        TLanes.Store(bestIndex, argmax);
    }

    /// <summary>16 outputs in a 512-bit vector (AVX-512F: stride 2 gathers the even floats with one two-source permute).</summary>
    public readonly struct Lanes512 : IMaxPoolLanes<Vector512<float>>
    {
        static readonly Vector512<int> Evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        static readonly Vector512<float> Lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

        public static int Count => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(ReadOnlySpan<float> x, int start, int stride) => stride == 1
            ? Vector512.Create(x.Slice(start, 16))
            : Avx512F.PermuteVar16x32x2(Vector512.Create(x.Slice(start, 16)), Evens, Vector512.Create(x.Slice(start + 16, 16)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Steps(int stride) => Lanes * stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Positions(int start, Vector512<float> steps) => Vector512.Create((float)start) + steps;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Fill(float value) => Vector512.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void KeepLarger(Vector512<float> value, Vector512<float> position, ref Vector512<float> best, ref Vector512<float> bestIndex)
        {
            var larger = Vector512.GreaterThan(value, best);
            best = Vector512.ConditionalSelect(larger, value, best);
            bestIndex = Vector512.ConditionalSelect(larger, position, bestIndex);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<float> vector, Span<float> target) => vector.CopyTo(target);
    }

    /// <summary>8 outputs in a 256-bit vector (AVX2: stride 2 takes the even floats of each 128-bit half of two loads, then
    /// puts the halves in order).</summary>
    public readonly struct Lanes256 : IMaxPoolLanes<Vector256<float>>
    {
        static readonly Vector256<float> Lanes = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);

        public static int Count => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ReadOnlySpan<float> x, int start, int stride)
        {
            if (stride == 1) return Vector256.Create(x.Slice(start, 8));
            // a = x0…x7, b = x8…x15: [x0 x2 x8 x10 | x4 x6 x12 x14], then the 64-bit pairs 0, 2, 1, 3
            var mixed = Avx.Shuffle(Vector256.Create(x.Slice(start, 8)), Vector256.Create(x.Slice(start + 8, 8)), 0b10_00_10_00);
            return Avx2.Permute4x64(mixed.AsDouble(), 0b11_01_10_00).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Steps(int stride) => Lanes * stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Positions(int start, Vector256<float> steps) => Vector256.Create((float)start) + steps;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Fill(float value) => Vector256.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void KeepLarger(Vector256<float> value, Vector256<float> position, ref Vector256<float> best, ref Vector256<float> bestIndex)
        {
            var larger = Vector256.GreaterThan(value, best);
            best = Vector256.ConditionalSelect(larger, value, best);
            bestIndex = Vector256.ConditionalSelect(larger, position, bestIndex);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<float> vector, Span<float> target) => vector.CopyTo(target);
    }
}
