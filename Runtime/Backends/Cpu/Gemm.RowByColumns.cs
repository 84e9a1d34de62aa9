using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

internal sealed partial class Gemm
{
    /// <summary>
    /// One row of op(A) times op(B) stored by columns (a classifier at batch 1, <c>y = x·Wᵀ</c>): a dot product per
    /// output, the outputs cut into chunks of <see cref="Chunk"/> for the threads. The weights are read once and are the
    /// whole cost (MobileNet v2's classifier: 5 MB), so two cores stream them faster than one. Four outputs at a time share
    /// each load of x (<see cref="Dot4{TMultiplyAdd}"/>): one dot product per output cost a call, a set-up and a
    /// horizontal sum each, and LeNet-5's fc1 (400 → 120) ran at 22 GMAC/s. Every output is summed the same way wherever
    /// it falls (8 lanes over k, the lanes' sum, then the tail of k in order), so the bits depend on neither the thread
    /// count nor the output's place in a group of four; with fused multiply-adds where the processor has FMA.
    /// </summary>
    sealed class RowByColumns : IParallelWork
    {
        const int Chunk = 64;
        GemmOperand a, b;
        float[] c = [];
        int cOffset, k, n;
        bool accumulate;

        public void Run(in GemmOperand a, in GemmOperand b, int k, float[] c, int cOffset, int n, bool accumulate, int threads)
        {
            (this.a, this.b, this.k, this.c, this.cOffset, this.n, this.accumulate) = (a, b, k, c, cOffset, n, accumulate);
            CpuWorkers.Shared.Run(this, (n + Chunk - 1) / Chunk, threads);
            (this.a, this.b, this.c) = (default, default, []);
        }

        void IParallelWork.Run(int task, int participant)
        {
            int first = task * Chunk;
            Span<float> row = c.AsSpan(cOffset + first, Math.Min(Chunk, n - first));
            if (a.Transposed)
            {
                for (int j = 0; j < row.Length; j++)
                {
                    float sum = 0f;
                    for (int p = 0; p < k; p++) sum += a[0, p] * b[p, first + j];
                    row[j] = accumulate ? row[j] + sum : sum;
                }
                return;
            }
            // x and the outputs' weight rows (each k long, b.Stride apart), every read checked against the arrays once
            ReadOnlySpan<float> x = a.Data.AsSpan(a.Offset, k);
            _ = b.Data.AsSpan(b.Offset + first * b.Stride, (row.Length - 1) * b.Stride + k);
            ref float weights = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(b.Data), b.Offset + first * b.Stride);
            Span<float> sums = stackalloc float[4];
            for (int j = 0; j < row.Length; j += 4)
            {
                int count = Math.Min(4, row.Length - j);
                // rows past the last repeat it (summed, dropped)
                nint r1 = Math.Min(1, count - 1) * (nint)b.Stride, r2 = Math.Min(2, count - 1) * (nint)b.Stride, r3 = Math.Min(3, count - 1) * (nint)b.Stride;
                ref float w = ref Unsafe.Add(ref weights, j * (nint)b.Stride);
                if (Fma.IsSupported) Dot4<FusedProducts>(x, ref w, r1, r2, r3, sums);
                else Dot4<RoundedProducts>(x, ref w, r1, r2, r3, sums);
                for (int t = 0; t < count; t++) row[j + t] = accumulate ? row[j + t] + sums[t] : sums[t];
            }
        }

        /// <summary><c>sums[t] = Σ_p x[p]·w[rₜ + p]</c> for the rows at 0, r1, r2, r3: 8 lanes over p, then each row's lane
        /// sum, then its products past the last whole vector in order (the same sum for a row whichever of the four it is).</summary>
        static void Dot4<TMultiplyAdd>(ReadOnlySpan<float> x, ref float w, nint r1, nint r2, nint r3, Span<float> sums)
            where TMultiplyAdd : struct, IMultiplyAdd
        {
            int k = x.Length, p = 0;
            ref float xs = ref MemoryMarshal.GetReference(x);
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (; p + 8 <= k; p += 8)
                {
                    var v = Vector256.LoadUnsafe(ref xs, (nuint)p);
                    ref float at = ref Unsafe.Add(ref w, p);
                    s0 = TMultiplyAdd.Apply(v, Vector256.LoadUnsafe(ref at), s0);
                    s1 = TMultiplyAdd.Apply(v, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, r1)), s1);
                    s2 = TMultiplyAdd.Apply(v, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, r2)), s2);
                    s3 = TMultiplyAdd.Apply(v, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, r3)), s3);
                }
                (sums[0], sums[1], sums[2], sums[3]) = (Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2), Vector256.Sum(s3));
            }
            else sums.Clear();
            for (; p < k; p++)
            {
                float value = Unsafe.Add(ref xs, p);
                sums[0] += value * Unsafe.Add(ref w, p);
                sums[1] += value * Unsafe.Add(ref w, r1 + p);
                sums[2] += value * Unsafe.Add(ref w, r2 + p);
                sums[3] += value * Unsafe.Add(ref w, r3 + p);
            }
        }
    }
}
