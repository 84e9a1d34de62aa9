using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Window2d window)
    {
        var g = new PoolGeometry(input.Shape, output.Shape);
        var (first, end) = PlaneUnits(g.Planes);
        if (first < end) poolingWork.Run(PoolingWork.Op.MaxForward, g, first, end, window, ArrayOf(input), ArrayOf(output), ArrayOf(argmax), false, Threads);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor argmax, Tensor outputGrad, Tensor inputGrad, Window2d window)
    {
        var g = new PoolGeometry(inputGrad.Shape, outputGrad.Shape);
        var (first, end) = PlaneUnits(g.Planes);
        if (first < end) poolingWork.Run(PoolingWork.Op.MaxBackward, g, first, end, window, ArrayOf(inputGrad), ArrayOf(outputGrad), ArrayOf(argmax), false, Threads);
    }

    /// <inheritdoc/>
    public void AvgPool2dForward(Tensor input, Tensor output, Window2d window, bool countIncludePad)
    {
        var g = new PoolGeometry(input.Shape, output.Shape);
        var (first, end) = PlaneUnits(g.Planes);
        if (first < end) poolingWork.Run(PoolingWork.Op.AverageForward, g, first, end, window, ArrayOf(input), ArrayOf(output), [], countIncludePad, Threads);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad)
    {
        var g = new PoolGeometry(inputGrad.Shape, outputGrad.Shape);
        var (first, end) = PlaneUnits(g.Planes);
        if (first < end) poolingWork.Run(PoolingWork.Op.AverageBackward, g, first, end, window, ArrayOf(inputGrad), ArrayOf(outputGrad), [], countIncludePad, Threads);
    }

    readonly PoolingWork poolingWork = new();

    /// <summary>The planes [First, End) of an op over <paramref name="planes"/> (n, c) planes to run now: all of them, or
    /// under a <see cref="Slice"/> those of its window, numbered in blocks of <see cref="ChannelTile"/> consecutive planes
    /// (each plane is computed by the same code whatever block it falls in, so any windows give the op's bits).</summary>
    (int First, int End) PlaneUnits(int planes)
    {
        var (from, to) = Units(ChannelTiles(planes));
        return ((int)Math.Min(from * ChannelTile, planes), (int)Math.Min(to * ChannelTile, planes));
    }

    /// <summary>
    /// Pooling, one task per group of (n, c) planes: a plane's outputs read (or, backward, add into) that plane only, so
    /// the result does not depend on the thread count. Forward and backward of both poolings side by side.
    /// </summary>
    sealed class PoolingWork : IParallelWork
    {
        public enum Op { MaxForward, MaxBackward, AverageForward, AverageBackward }

        Op op;
        PoolGeometry g;
        Window2d window;
        float[] image = [], pooled = [], index = [];
        bool countIncludePad;
        int planesPerTask, firstPlane, endPlane;
        /// <summary>Planes of at most this many pixels are copied before max pooling (see MaxForward).</summary>
        const int SmallPlane = 4096;
        readonly float[]?[] planeCopies = new float[CpuWorkers.Shared.MaxParticipants][];

        /// <summary><paramref name="image"/> is x (forward) or dx (backward), (N,C,H,W); <paramref name="pooled"/> is y or dy,
        /// (N,C,OH,OW); <paramref name="argmax"/> max pooling's indices.</summary>
        public void Run(Op op, in PoolGeometry geometry, int firstPlane, int endPlane, in Window2d window, float[] image, float[] pooled, float[] argmax, bool countIncludePad, int threads)
        {
            (this.op, g, this.window, this.image, this.pooled, index, this.countIncludePad) = (op, geometry, window, image, pooled, argmax, countIncludePad);
            (this.firstPlane, this.endPlane) = (firstPlane, endPlane);
            int work = Math.Max(1, g.OutputPixels * window.KernelHeight * window.KernelWidth), planes = endPlane - firstPlane;
            planesPerTask = Math.Max(1, (1 << 14) / work);
            int tasks = (planes + planesPerTask - 1) / planesPerTask;
            if (op == Op.MaxForward && g.InputPixels <= SmallPlane)
                for (int p = 0; p < planeCopies.Length; p++) planeCopies[p] ??= new float[SmallPlane + 32];
            CpuWorkers.Shared.Run(this, tasks, (long)planes * work >= 1 << 16 ? threads : 1);
            (this.image, this.pooled, index) = ([], [], []);
        }

        void IParallelWork.Run(int task, int participant)
        {
            for (int plane = firstPlane + task * planesPerTask; plane < Math.Min(endPlane, firstPlane + (task + 1) * planesPerTask); plane++)
                switch (op)
                {
                    case Op.MaxForward: MaxForward(plane, participant); break;
                    case Op.MaxBackward: MaxBackward(plane); break;
                    case Op.AverageForward: AverageForward(plane); break;
                    default: AverageBackward(plane); break;
                }
        }

        /// <summary>
        /// <c>y = max over the window</c> (padding counts as −∞) and the flat index <c>h·W + w</c> of the first maximum in
        /// window order (rows, then columns), −1 for a window with no input element. The columns whose whole window row lies
        /// inside the input run 16 outputs at a time where the stride is 1 or 2 (AVX-512): the first tap is taken as is, each
        /// later one replaces only a strictly larger value, exactly the scalar rule.
        /// </summary>
        void MaxForward(int plane, int participant)
        {
            var w = window;
            ReadOnlySpan<float> x = image.AsSpan(plane * g.InputPixels, g.InputPixels);
            Span<float> y = pooled.AsSpan(plane * g.OutputPixels, g.OutputPixels), argmax = index.AsSpan(plane * g.OutputPixels, g.OutputPixels);
            var (first, end) = Im2ColSource.ValidColumns(-w.PadLeft, w.StrideWidth, g.InputWidth - (w.KernelWidth - 1) * w.DilationWidth, g.OutputWidth);
            bool vectors = Avx512F.IsSupported && Vector512.IsHardwareAccelerated && w.StrideWidth <= 2;
            // a small plane is copied in front of 32 floats of slack, so that vectors may read past its end and rows
            // narrower than 16 outputs run as vectors too (lanes past the row's valid columns are computed and dropped)
            int readable = g.InputPixels;
            if (vectors && g.InputPixels <= SmallPlane)
            {
                float[] copy = planeCopies[participant]!;
                x.CopyTo(copy);
                x = copy;
                readable = copy.Length;
            }
            Span<float> partial = stackalloc float[32];
            for (int i = 0; i < g.OutputHeight; i++)
            {
                // the last input row the window reaches: vectors read 16·stride floats from each tap's start
                int lastRow = Math.Min(g.InputHeight - 1, i * w.StrideHeight - w.PadTop + (w.KernelHeight - 1) * w.DilationHeight);
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    int lastStart = lastRow * g.InputWidth + j * w.StrideWidth - w.PadLeft + (w.KernelWidth - 1) * w.DilationWidth;
                    int count = Math.Min(16, end - j);
                    if (vectors && j >= first && count > 0 && lastStart + 16 * w.StrideWidth <= readable)
                    {
                        int at = i * g.OutputWidth + j;
                        if (count == 16) MaxForward16(x, i, j, y.Slice(at, 16), argmax.Slice(at, 16));
                        else
                        {
                            MaxForward16(x, i, j, partial[..16], partial[16..]);
                            partial[..count].CopyTo(y.Slice(at, count));
                            partial.Slice(16, count).CopyTo(argmax.Slice(at, count));
                        }
                        j += count - 1;
                        continue;
                    }
                    float best = float.NegativeInfinity;
                    int bestIndex = -1;
                    for (int p = 0; p < w.KernelHeight; p++)
                    {
                        int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
                        if ((uint)ih >= (uint)g.InputHeight) continue;
                        for (int q = 0; q < w.KernelWidth; q++)
                        {
                            int iw = j * w.StrideWidth - w.PadLeft + q * w.DilationWidth;
                            if ((uint)iw >= (uint)g.InputWidth) continue;
                            float v = x[ih * g.InputWidth + iw];
                            if (v > best || bestIndex < 0) { best = v; bestIndex = ih * g.InputWidth + iw; }
                        }
                    }
                    y[i * g.OutputWidth + j] = best;
                    argmax[i * g.OutputWidth + j] = bestIndex;
                }
            }
        }

        /// <summary>Outputs (i, j … j + 15), every one's window row inside the input: the window's valid rows, each tap a
        /// vector of 16 inputs (consecutive for stride 1, the even ones of 32 for stride 2).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void MaxForward16(ReadOnlySpan<float> x, int i, int j, Span<float> y, Span<float> argmax)
        {
            var w = window;
            int s = w.StrideWidth;
            var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * s;
            Vector512<float> best = default, bestIndex = Vector512.Create(-1f);
            bool any = false;
            for (int p = 0; p < w.KernelHeight; p++)
            {
                int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
                if ((uint)ih >= (uint)g.InputHeight) continue;
                for (int q = 0; q < w.KernelWidth; q++)
                {
                    int start = ih * g.InputWidth + j * s - w.PadLeft + q * w.DilationWidth;
                    Vector512<float> v = s == 1 ? Vector512.Create(x.Slice(start, 16))
                        : Avx512F.PermuteVar16x32x2(Vector512.Create(x.Slice(start, 16)), evens, Vector512.Create(x.Slice(start + 16, 16)));
                    var position = Vector512.Create((float)start) + lanes;
                    if (!any) (best, bestIndex, any) = (v, position, true);
                    else
                    {
                        var larger = Vector512.GreaterThan(v, best);
                        best = Vector512.ConditionalSelect(larger, v, best);
                        bestIndex = Vector512.ConditionalSelect(larger, position, bestIndex);
                    }
                }
            }
            if (!any) best = Vector512.Create(float.NegativeInfinity);
            best.CopyTo(y);
            bestIndex.CopyTo(argmax);
        }

        /// <summary>In the forward pass this was y = x[argmax]: the gradient flows only to the chosen element.</summary>
        void MaxBackward(int plane)
        {
            ReadOnlySpan<float> chosen = index.AsSpan(plane * g.OutputPixels, g.OutputPixels), dy = pooled.AsSpan(plane * g.OutputPixels, g.OutputPixels);
            Span<float> dx = image.AsSpan(plane * g.InputPixels, g.InputPixels);
            for (int o = 0; o < chosen.Length; o++)
            {
                int position = (int)chosen[o];
                if (position >= 0) dx[position] += dy[o]; // −1: the window held no input element
            }
        }

        void AverageForward(int plane)
        {
            ReadOnlySpan<float> x = image.AsSpan(plane * g.InputPixels, g.InputPixels);
            Span<float> y = pooled.AsSpan(plane * g.OutputPixels, g.OutputPixels);
            for (int i = 0; i < g.OutputHeight; i++)
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    float sum = 0f;
                    foreach (int position in new WindowPositions(g, window, i, j)) sum += x[position];
                    y[i * g.OutputWidth + j] = sum / AverageDivisor(g, window, i, j, countIncludePad);
                }
        }

        /// <summary>In the forward pass this was y = Σ window / count: each element of the window receives dy / count.</summary>
        void AverageBackward(int plane)
        {
            ReadOnlySpan<float> dy = pooled.AsSpan(plane * g.OutputPixels, g.OutputPixels);
            Span<float> dx = image.AsSpan(plane * g.InputPixels, g.InputPixels);
            for (int i = 0; i < g.OutputHeight; i++)
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    float share = dy[i * g.OutputWidth + j] / AverageDivisor(g, window, i, j, countIncludePad);
                    foreach (int position in new WindowPositions(g, window, i, j)) dx[position] += share;
                }
        }
    }

    /// <summary>
    /// The divisor of average pooling at output (i,j): with <paramref name="countIncludePad"/>, the window's
    /// cells inside the padded input (PyTorch clips the window to input + padding); otherwise the in-bounds cells only.
    /// </summary>
    static float AverageDivisor(in PoolGeometry g, in Window2d w, int i, int j, bool countIncludePad)
    {
        int rows = 0, cols = 0;
        for (int p = 0; p < w.KernelHeight; p++)
        {
            int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
            if (countIncludePad ? ih < g.InputHeight + w.PadBottom : (uint)ih < (uint)g.InputHeight) rows++;
        }
        for (int q = 0; q < w.KernelWidth; q++)
        {
            int iw = j * w.StrideWidth - w.PadLeft + q * w.DilationWidth;
            if (countIncludePad ? iw < g.InputWidth + w.PadRight : (uint)iw < (uint)g.InputWidth) cols++;
        }
        return rows * cols;
    }

    /// <summary>Sizes of one pooling, read from the input and output shapes; a plane is one (n,c) pair.</summary>
    readonly struct PoolGeometry(TensorShape input, TensorShape output)
    {
        public readonly int Planes = input.N * input.C, InputHeight = input.H, InputWidth = input.W;
        public readonly int OutputHeight = output.H, OutputWidth = output.W;
        public int InputPixels => InputHeight * InputWidth;
        public int OutputPixels => OutputHeight * OutputWidth;
    }

    /// <summary>Enumerates, without allocating, the in-bounds flat positions <c>h·W + w</c> of the window at output (i,j).</summary>
    ref struct WindowPositions(in PoolGeometry g, in Window2d w, int i, int j)
    {
        readonly int height = g.InputHeight, width = g.InputWidth;
        readonly Window2d win = w;
        readonly int i = i, j = j;
        int p, q = -1;

        public readonly WindowPositions GetEnumerator() => this;
        public int Current { get; private set; }

        public bool MoveNext()
        {
            while (true)
            {
                if (++q >= win.KernelWidth) { q = 0; p++; }
                if (p >= win.KernelHeight) return false;
                int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                int iw = j * win.StrideWidth - win.PadLeft + q * win.DilationWidth;
                if ((uint)ih < (uint)height && (uint)iw < (uint)width)
                {
                    Current = ih * width + iw;
                    return true;
                }
            }
        }
    }
}
