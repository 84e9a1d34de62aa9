using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

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
        if (first >= end) return;
        poolingWork.WholePlaneSums = Arithmetic == CpuArithmetic.Fast && g.OutputPixels == 1 && window.KernelHeight == g.InputHeight && window.KernelWidth == g.InputWidth
            && window is { PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0, DilationHeight: 1, DilationWidth: 1 };
        poolingWork.Run(PoolingWork.Op.AverageForward, g, first, end, window, ArrayOf(input), ArrayOf(output), [], countIncludePad, Threads);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad)
    {
        var g = new PoolGeometry(inputGrad.Shape, outputGrad.Shape);
        var (first, end) = PlaneUnits(g.Planes);
        if (first < end) poolingWork.Run(PoolingWork.Op.AverageBackward, g, first, end, window, ArrayOf(inputGrad), ArrayOf(outputGrad), [], countIncludePad, Threads);
    }

    readonly PoolingWork poolingWork = new();

    /// <summary>Max pooling's outputs a vector: <see cref="MaxPoolLanes.FastestCount"/> unless set. Tests set a narrower
    /// width (8, or 0: scalar only) to check that path on a processor that has a wider one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A width this processor cannot run.</exception>
    internal int MaxPoolLaneCount
    {
        get => poolingWork.LaneCount;
        set
        {
            bool runs = value == 0 || value == MaxPoolLanes.Lanes256.Count && MaxPoolLanes.FastestCount >= value || value == MaxPoolLanes.FastestCount;
            if (!runs) throw new ArgumentOutOfRangeException(nameof(value), value, $"max pooling runs 0, 8 (AVX2) or 16 (AVX-512F) outputs a vector; this processor at most {MaxPoolLanes.FastestCount}");
            poolingWork.LaneCount = value;
        }
    }

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

        /// <summary>Max pooling's outputs a vector (<see cref="MaxPoolLaneCount"/>).</summary>
        public int LaneCount { get; set; } = MaxPoolLanes.FastestCount;

        /// <summary>Average pooling whose one window is the whole plane (a global average pool) sums the plane as vectors
        /// (<see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/>), in place of one add after another through the
        /// window's positions: MobileNet v2's 1280 planes of 7×7 took 0.16–0.2 ms that way. Only under
        /// <see cref="CpuArithmetic.Fast"/>, whose sums need not keep the GL shaders' order.</summary>
        public bool WholePlaneSums { get; set; }
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
        /// inside the input run <see cref="LaneCount"/> outputs at a time where the stride is 1 or 2
        /// (<see cref="MaxPoolLanes.Run{TLanes, TVector}"/>: the first tap is taken as is, each later one replaces only a
        /// strictly larger value, exactly the scalar rule).
        /// </summary>
        void MaxForward(int plane, int participant)
        {
            var w = window;
            ReadOnlySpan<float> x = image.AsSpan(plane * g.InputPixels, g.InputPixels);
            Span<float> y = pooled.AsSpan(plane * g.OutputPixels, g.OutputPixels), argmax = index.AsSpan(plane * g.OutputPixels, g.OutputPixels);
            var (first, end) = Im2ColSource.ValidColumns(-w.PadLeft, w.StrideWidth, g.InputWidth - (w.KernelWidth - 1) * w.DilationWidth, g.OutputWidth);
            int lanes = LaneCount;
            bool vectors = lanes > 0 && w.StrideWidth <= 2;
            // a small plane is copied in front of 32 floats of slack, so that vectors may read past its end and rows
            // narrower than a vector of outputs run as vectors too (lanes past the row's valid columns are computed and dropped)
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
                // the last input row the window reaches: vectors read lanes·stride floats from each tap's start
                int lastRow = Math.Min(g.InputHeight - 1, i * w.StrideHeight - w.PadTop + (w.KernelHeight - 1) * w.DilationHeight);
                int row = i * g.OutputWidth;
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    int lastStart = lastRow * g.InputWidth + j * w.StrideWidth - w.PadLeft + (w.KernelWidth - 1) * w.DilationWidth;
                    int count = Math.Min(lanes, end - j);
                    if (vectors && j >= first && count > 0 && lastStart + lanes * w.StrideWidth <= readable)
                    {
                        // the vectors that cover [j, end) in one call, as far as their reads stay readable and their
                        // outputs in the plane: lanes past `end` land on outputs of this plane computed after them (the
                        // rest of the row, the next rows), which overwrite them; else one vector, partly kept
                        int step = lanes * w.StrideWidth, room = y.Length - row - j;
                        int whole = Math.Min(Math.Min((end - j + lanes - 1) / lanes, room / lanes), (readable - lastStart - step) / step + 1);
                        if (whole > 0)
                        {
                            RunLanes(x, w, i, j, whole, y.Slice(row + j, whole * lanes), argmax.Slice(row + j, whole * lanes));
                            j = Math.Min(j + whole * lanes, end) - 1;
                            continue;
                        }
                        Span<float> values = partial[..lanes], indices = partial[16..(16 + lanes)];
                        RunLanes(x, w, i, j, 1, values, indices);
                        values[..count].CopyTo(y.Slice(row + j, count));
                        indices[..count].CopyTo(argmax.Slice(row + j, count));
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

        /// <summary><see cref="MaxPoolLanes.Run{TLanes, TVector}"/> at <see cref="LaneCount"/>.</summary>
        void RunLanes(ReadOnlySpan<float> x, in Window2d w, int i, int j, int vectors, Span<float> values, Span<float> indices)
        {
            if (LaneCount == MaxPoolLanes.Lanes512.Count)
                MaxPoolLanes.Run<MaxPoolLanes.Lanes512, Vector512<float>>(x, g.InputHeight, g.InputWidth, w, i, j, vectors, values, indices);
            else
                MaxPoolLanes.Run<MaxPoolLanes.Lanes256, Vector256<float>>(x, g.InputHeight, g.InputWidth, w, i, j, vectors, values, indices);
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
            if (WholePlaneSums)
            {
                y[0] = TensorPrimitives.Sum(x) / g.InputPixels;
                return;
            }
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
