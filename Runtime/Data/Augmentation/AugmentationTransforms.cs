namespace NeuroPlugin.Data;

/// <summary>
/// One step of an <see cref="Augmentation"/> pipeline. A transform draws its per-sample parameters on the host
/// (<see cref="Draw"/>, from <see cref="AugmentationRandom"/>) into a row of <see cref="ParametersPerSample"/>
/// floats per sample, and then runs one backend op that does the pixel work with them on the device.
/// </summary>
public abstract class AugmentationTransform
{
    private protected AugmentationTransform() { }

    /// <summary>Floats per sample of the parameter tensor (N, width) the op reads.</summary>
    internal abstract int ParametersPerSample { get; }

    /// <summary>Whether the transform changes the targets too (mixup), so the pipeline needs them.</summary>
    internal virtual bool MixesTargets => false;

    /// <summary>Throws <see cref="ShapeException"/> when the transform cannot apply to images of this (N,C,H,W).</summary>
    internal virtual void Check(TensorShape images) { }

    /// <summary>Fills <paramref name="parameters"/> (N·width floats) with this step's draws.</summary>
    internal abstract void Draw(ref AugmentationRandom random, TensorShape images, Span<float> parameters);

    /// <summary>Runs the op on the device. The scratch tensors have the images' and the targets' shapes.</summary>
    internal abstract void Run(IBackend backend, Tensor images, Tensor? targets, Tensor imageScratch, Tensor? targetScratch, Tensor parameters);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="name"/> unless
    /// <paramref name="value"/> lies in [<paramref name="low"/>, <paramref name="high"/>].</summary>
    private protected static void CheckRange(double value, double low, double high, string name)
    {
        if (!(value >= low && value <= high))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{low}, {high}], got {value}");
    }

    /// <summary>The shifted, mirrored copy of <see cref="IBackend.AugmentCropFlip"/> into scratch, copied back.</summary>
    private protected static void CropFlip(IBackend backend, Tensor images, Tensor scratch, Tensor parameters, float fill)
    {
        backend.AugmentCropFlip(images, scratch, parameters, fill);
        backend.Copy(scratch, images);
    }
}

/// <summary>
/// Random crop with zero padding (torchvision's <c>RandomCrop(size, padding)</c>): the image (C,H,W) is padded by
/// <see cref="Padding"/> on every side with <see cref="Fill"/> and a <c>size×size</c> window is taken at a uniform offset
/// <c>(top, left) ∈ [0, H + 2·padding − size]²</c>, per sample: <c>y[c,i,j] = padded[c, i + top, j + left]</c>.
/// The pipeline augments the batch in place, so <see cref="Size"/> must equal H and W.
/// </summary>
public sealed class RandomCrop : AugmentationTransform
{
    /// <param name="size">Output height and width (the image's own, 28 for Fashion-MNIST).</param>
    /// <param name="padding">Pixels of padding on each side (≥ 0).</param>
    /// <param name="fill">The padding's value. Images arrive normalized, so to pad with black pass the normalized
    /// value of pixel 0 (<see cref="PixelNormalization.Apply"/>); 0 pads with the dataset's mean.</param>
    public RandomCrop(int size, int padding, float fill = 0f)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, $"size must be at least 1, got {size}");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, $"padding must be ≥ 0, got {padding}");
        if (!float.IsFinite(fill)) throw new ArgumentOutOfRangeException(nameof(fill), fill, $"fill must be finite, got {fill}");
        (Size, Padding, Fill) = (size, padding, fill);
    }

    /// <summary>Output height and width.</summary>
    public int Size { get; }
    /// <summary>Padding on each side.</summary>
    public int Padding { get; }
    /// <summary>The padding's value.</summary>
    public float Fill { get; }

    internal override int ParametersPerSample => 3;

    internal override void Check(TensorShape images)
    {
        if (images.H != Size || images.W != Size)
            throw new ShapeException($"random crop: size {Size} must equal the images' height and width (the batch is augmented in place), got {images}");
    }

    internal override void Draw(ref AugmentationRandom random, TensorShape images, Span<float> parameters)
    {
        int positions = images.H + 2 * Padding - Size + 1;
        for (int n = 0; n < images.N; n++)
        {
            // row and column of x that output (0, 0) reads: top − padding, left − padding
            parameters[n * 3] = random.NextInt(positions) - Padding;
            parameters[n * 3 + 1] = random.NextInt(positions) - Padding;
            parameters[n * 3 + 2] = 0f;
        }
    }

    internal override void Run(IBackend backend, Tensor images, Tensor? targets, Tensor imageScratch, Tensor? targetScratch, Tensor parameters) =>
        CropFlip(backend, images, imageScratch, parameters, Fill);
}

/// <summary>Horizontal flip with probability <see cref="P"/> per sample (torchvision's <c>RandomHorizontalFlip</c>):
/// <c>y[c,i,j] = x[c,i,W−1−j]</c> when <c>u &lt; p</c>.</summary>
public sealed class RandomHorizontalFlip : AugmentationTransform
{
    /// <param name="p">Probability of flipping a sample, in [0, 1].</param>
    public RandomHorizontalFlip(float p = 0.5f)
    {
        CheckRange(p, 0, 1, nameof(p));
        P = p;
    }

    /// <summary>Probability of flipping a sample.</summary>
    public float P { get; }

    internal override int ParametersPerSample => 3;

    internal override void Draw(ref AugmentationRandom random, TensorShape images, Span<float> parameters)
    {
        for (int n = 0; n < images.N; n++)
        {
            parameters[n * 3] = 0f;
            parameters[n * 3 + 1] = 0f;
            parameters[n * 3 + 2] = random.NextUniform() < P ? 1f : 0f;
        }
    }

    internal override void Run(IBackend backend, Tensor images, Tensor? targets, Tensor imageScratch, Tensor? targetScratch, Tensor parameters) =>
        CropFlip(backend, images, imageScratch, parameters, 0f);
}

/// <summary>A transform that fills one rectangle per sample with a constant (<see cref="IBackend.AugmentFillRectangles"/>).</summary>
public abstract class RectangleFill : AugmentationTransform
{
    private protected RectangleFill(float value)
    {
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, $"value must be finite, got {value}");
        Value = value;
    }

    /// <summary>The value written into the rectangle.</summary>
    public float Value { get; }

    internal override int ParametersPerSample => 4;

    internal override void Run(IBackend backend, Tensor images, Tensor? targets, Tensor imageScratch, Tensor? targetScratch, Tensor parameters) =>
        backend.AugmentFillRectangles(images, parameters, Value);

    /// <summary>Writes sample <paramref name="n"/>'s rectangle <c>[top, bottom) × [left, right)</c>.</summary>
    private protected static void Write(Span<float> parameters, int n, int top, int left, int bottom, int right)
    {
        parameters[n * 4] = top;
        parameters[n * 4 + 1] = left;
        parameters[n * 4 + 2] = bottom;
        parameters[n * 4 + 3] = right;
    }
}

/// <summary>
/// Cutout (DeVries and Taylor, 2017): one <c>size×size</c> square of <see cref="RectangleFill.Value"/> (zero) per
/// sample, centred at a uniform pixel <c>(cy, cx)</c> and clipped at the border, so it may be partly outside:
/// rows <c>[max(0, cy − ⌊size/2⌋), min(H, cy − ⌊size/2⌋ + size))</c>, columns likewise. Images arrive
/// normalized, so zero is the dataset's mean, as in the paper (which cuts after normalizing).
/// </summary>
public sealed class Cutout : RectangleFill
{
    /// <param name="size">Side of the square in pixels (≥ 1).</param>
    /// <param name="value">The value written (0 in the paper).</param>
    public Cutout(int size, float value = 0f) : base(value)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, $"size must be at least 1, got {size}");
        Size = size;
    }

    /// <summary>Side of the square.</summary>
    public int Size { get; }

    internal override void Draw(ref AugmentationRandom random, TensorShape images, Span<float> parameters)
    {
        for (int n = 0; n < images.N; n++)
        {
            int top = random.NextInt(images.H) - Size / 2, left = random.NextInt(images.W) - Size / 2;
            Write(parameters, n, Math.Max(top, 0), Math.Max(left, 0), Math.Min(top + Size, images.H), Math.Min(left + Size, images.W));
        }
    }
}

/// <summary>
/// Random Erasing (Zhong et al., 2020; torchvision's <c>RandomErasing</c>): with probability <see cref="P"/> per sample,
/// a rectangle of area <c>s·H·W</c>, <c>s ~ U(scale)</c>, and aspect ratio <c>r = exp(U(log ratio))</c> (height
/// <c>round(√(s·H·W·r))</c>, width <c>round(√(s·H·W/r))</c>) at a uniform position is filled with
/// <see cref="RectangleFill.Value"/>. A shape that does not fit is drawn again, up to 10 times, then the sample is left
/// as it is (torchvision's rule).
/// </summary>
public sealed class RandomErasing : RectangleFill
{
    const int Attempts = 10;

    /// <param name="p">Probability of erasing a sample, in [0, 1].</param>
    /// <param name="scaleMin">Smallest erased fraction of the area, in (0, 1].</param>
    /// <param name="scaleMax">Largest erased fraction, in [scaleMin, 1].</param>
    /// <param name="ratioMin">Smallest aspect ratio height/width, &gt; 0.</param>
    /// <param name="ratioMax">Largest aspect ratio, ≥ ratioMin.</param>
    /// <param name="value">The value written (0 is the dataset's mean on normalized images).</param>
    public RandomErasing(float p = 0.5f, float scaleMin = 0.02f, float scaleMax = 0.33f, float ratioMin = 0.3f, float ratioMax = 3.3f, float value = 0f)
        : base(value)
    {
        CheckRange(p, 0, 1, nameof(p));
        if (!(scaleMin > 0 && scaleMin <= 1)) throw new ArgumentOutOfRangeException(nameof(scaleMin), scaleMin, $"scaleMin must be in (0, 1], got {scaleMin}");
        CheckRange(scaleMax, scaleMin, 1, nameof(scaleMax));
        if (!(ratioMin > 0) || !float.IsFinite(ratioMin)) throw new ArgumentOutOfRangeException(nameof(ratioMin), ratioMin, $"ratioMin must be a positive number, got {ratioMin}");
        CheckRange(ratioMax, ratioMin, float.MaxValue, nameof(ratioMax));
        (P, ScaleMin, ScaleMax, RatioMin, RatioMax) = (p, scaleMin, scaleMax, ratioMin, ratioMax);
    }

    /// <summary>Probability of erasing a sample.</summary>
    public float P { get; }
    /// <summary>Range of the erased fraction of the area.</summary>
    public float ScaleMin { get; }
    /// <inheritdoc cref="ScaleMin"/>
    public float ScaleMax { get; }
    /// <summary>Range of the aspect ratio height/width (drawn log-uniformly).</summary>
    public float RatioMin { get; }
    /// <inheritdoc cref="RatioMin"/>
    public float RatioMax { get; }

    internal override void Draw(ref AugmentationRandom random, TensorShape images, Span<float> parameters)
    {
        int height = images.H, width = images.W;
        double area = (double)height * width, logRatioMin = Math.Log(RatioMin), logRatioMax = Math.Log(RatioMax);
        for (int n = 0; n < images.N; n++)
        {
            Write(parameters, n, 0, 0, 0, 0);
            if (random.NextUniform() >= P) continue;
            for (int attempt = 0; attempt < Attempts; attempt++)
            {
                double target = area * random.NextUniform(ScaleMin, ScaleMax);
                double ratio = Math.Exp(random.NextUniform(logRatioMin, logRatioMax));
                int h = (int)Math.Round(Math.Sqrt(target * ratio)), w = (int)Math.Round(Math.Sqrt(target / ratio));
                if (h < 1 || w < 1 || h >= height || w >= width) continue;
                int top = random.NextInt(height - h + 1), left = random.NextInt(width - w + 1);
                Write(parameters, n, top, left, top + h, left + w);
                break;
            }
        }
    }
}

/// <summary>
/// mixup (Zhang et al., 2018): per batch <c>λ ~ Beta(α, α)</c> and a uniform permutation π of the batch;
/// <c>x[n] ← λ·x[n] + (1−λ)·x[π(n)]</c> and the targets the same way, <c>t[n] ← λ·t[n] + (1−λ)·t[π(n)]</c>.
/// The mixed loss <c>λ·CE(z, t[n]) + (1−λ)·CE(z, t[π(n)])</c> is linear in the target, so it equals the soft-target
/// softmax cross-entropy <c>CE(z, λ·t[n] + (1−λ)·t[π(n)])</c> the plan already computes: mixing the one-hot targets
/// IS the mixed loss, with no change to the loss head.
/// </summary>
public sealed class Mixup : AugmentationTransform
{
    /// <param name="alpha">α &gt; 0 of Beta(α, α): 1 draws λ uniformly, small α keeps λ near 0 or 1 (mild mixing).</param>
    public Mixup(float alpha = 1f)
    {
        if (!(alpha > 0) || !float.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"alpha must be a positive number, got {alpha}");
        Alpha = alpha;
    }

    /// <summary>α of Beta(α, α).</summary>
    public float Alpha { get; }

    internal override int ParametersPerSample => 3;
    internal override bool MixesTargets => true;

    internal override void Draw(ref AugmentationRandom random, TensorShape images, Span<float> parameters)
    {
        float lambda = (float)random.NextBeta(Alpha, Alpha), rest = 1f - lambda;
        int count = images.N;
        // Fisher–Yates into the partner column: row n's partner is π(n)
        for (int n = 0; n < count; n++) parameters[n * 3] = n;
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (parameters[i * 3], parameters[j * 3]) = (parameters[j * 3], parameters[i * 3]);
        }
        for (int n = 0; n < count; n++)
        {
            parameters[n * 3 + 1] = lambda;
            parameters[n * 3 + 2] = rest;
        }
    }

    internal override void Run(IBackend backend, Tensor images, Tensor? targets, Tensor imageScratch, Tensor? targetScratch, Tensor parameters)
    {
        backend.AugmentMix(images, imageScratch, parameters);
        backend.Copy(imageScratch, images);
        backend.AugmentMix(targets!, targetScratch!, parameters);
        backend.Copy(targetScratch!, targets!);
    }
}
