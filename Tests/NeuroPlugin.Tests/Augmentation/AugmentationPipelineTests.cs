namespace NeuroPlugin.Tests.DataAugmentation;

/// <summary>
/// The <see cref="Augmentation"/> pipeline on the CPU: each transform's output against its own drawn parameters
/// (<see cref="Augmentation.LastParameters"/>) and the formula, the draws' distributions (flip and erasing rates,
/// crop offsets, λ's mean and variance), reproducibility from (seed, step), no managed allocation per step, and
/// errors that name the parameter.
/// </summary>
public class AugmentationPipelineTests
{
    const int Size = 8;
    readonly CpuBackend cpu = new();

    /// <summary>A batch (n, c, 8, 8) whose every value is distinct and non-zero: 1 + index.</summary>
    Tensor Images(int n, int c = 2)
    {
        var tensor = cpu.Allocate(new TensorShape(n, c, Size, Size), "images");
        tensor.Upload(Enumerable.Range(1, tensor.Length).Select(i => (float)i).ToArray());
        return tensor;
    }

    Tensor OneHot(int n, int classes)
    {
        var tensor = cpu.Allocate(new TensorShape(n, classes), "targets");
        var values = new float[n * classes];
        for (int i = 0; i < n; i++) values[i * classes + i % classes] = 1f;
        tensor.Upload(values);
        return tensor;
    }

    static float Pixel(float[] x, int c, int n, int channel, int h, int w) => x[((n * c + channel) * Size + h) * Size + w];

    /// <summary>One step of <paramref name="transform"/> (seeded) on a batch of <see cref="Images"/>: the batch before and
    /// after, and the parameters the transform drew for it.</summary>
    (float[] Before, float[] After, float[] Parameters) ApplyOnce(AugmentationTransform transform, int seed, int step, int n, int c)
    {
        using var images = Images(n, c);
        float[] before = images.ToArray();
        using var augmentation = new Augmentation(seed, transform);
        augmentation.Apply(images, null, step);
        return (before, images.ToArray(), augmentation.LastParameters(0));
    }

    [Test]
    public void RandomCropMovesEachSampleByItsDrawnOffset()
    {
        const int N = 64, C = 2, Padding = 3;
        var (before, after, p) = ApplyOnce(new RandomCrop(Size, Padding, fill: -1f), seed: 5, step: 0, N, C);
        var shifts = new HashSet<(int, int)>();
        for (int n = 0; n < N; n++)
        {
            int rowShift = (int)p[n * 3], columnShift = (int)p[n * 3 + 1];
            Assert.That(rowShift, Is.InRange(-Padding, Padding));
            Assert.That(columnShift, Is.InRange(-Padding, Padding));
            shifts.Add((rowShift, columnShift));
            for (int c = 0; c < C; c++)
                for (int i = 0; i < Size; i++)
                    for (int j = 0; j < Size; j++)
                    {
                        int h = i + rowShift, w = j + columnShift;
                        float expected = h is >= 0 and < Size && w is >= 0 and < Size ? Pixel(before, C, n, c, h, w) : -1f;
                        Assert.That(Pixel(after, C, n, c, i, j), Is.EqualTo(expected), $"sample {n} ({c},{i},{j})");
                    }
        }
        Assert.That(shifts, Has.Count.GreaterThan(20), "offsets vary per sample (49 possible)");
    }

    [TestCase(0.5f)]
    [TestCase(0.2f)]
    public void FlipMirrorsAtRateP(float p)
    {
        const int N = 4000, C = 1;
        var (before, after, parameters) = ApplyOnce(new RandomHorizontalFlip(p), seed: 9, step: 3, N, C);
        int flipped = 0;
        for (int n = 0; n < N; n++)
        {
            bool flip = parameters[n * 3 + 2] != 0f;
            if (flip) flipped++;
            for (int i = 0; i < Size; i++)
                for (int j = 0; j < Size; j++)
                    Assert.That(Pixel(after, C, n, 0, i, j), Is.EqualTo(Pixel(before, C, n, 0, i, flip ? Size - 1 - j : j)));
        }
        Assert.That(flipped / (double)N, Is.EqualTo(p).Within(4 * Math.Sqrt(p * (1 - p) / N)), "flip rate");
    }

    [Test]
    public void CutoutZeroesExactlyItsClippedSquare()
    {
        const int N = 200, C = 2, Side = 4;
        var (before, after, r) = ApplyOnce(new Cutout(Side), seed: 1, step: 0, N, C);
        int clipped = 0;
        for (int n = 0; n < N; n++)
        {
            int top = (int)r[n * 4], left = (int)r[n * 4 + 1], bottom = (int)r[n * 4 + 2], right = (int)r[n * 4 + 3];
            // the square [cy − 2, cy + 2) with cy in [0, 8), clipped to the image: at least [0, 2) when cy = 0
            Assert.That(bottom - top, Is.InRange(Side - Side / 2, Side));
            Assert.That(right - left, Is.InRange(Side - Side / 2, Side));
            Assert.That(top == 0 || bottom == Size || bottom - top == Side, $"sample {n}: only the border clips");
            if (bottom - top < Side || right - left < Side) clipped++;
            for (int c = 0; c < C; c++)
                for (int h = 0; h < Size; h++)
                    for (int w = 0; w < Size; w++)
                    {
                        bool inside = h >= top && h < bottom && w >= left && w < right;
                        Assert.That(Pixel(after, C, n, c, h, w), Is.EqualTo(inside ? 0f : Pixel(before, C, n, c, h, w)));
                    }
        }
        Assert.That(clipped, Is.GreaterThan(0).And.LessThan(N), "some squares reach over the border, some do not");
    }

    [TestCase(0.5f)]
    [TestCase(0.8f)]
    public void ErasingFillsItsRectangleAtRateP(float p)
    {
        const int N = 3000, C = 1;
        var (before, after, r) = ApplyOnce(new RandomErasing(p, 0.1f, 0.3f, 0.5f, 2f, value: -3f), seed: 2, step: 11, N, C);
        int erased = 0;
        for (int n = 0; n < N; n++)
        {
            int top = (int)r[n * 4], left = (int)r[n * 4 + 1], bottom = (int)r[n * 4 + 2], right = (int)r[n * 4 + 3];
            if (bottom > top)
            {
                erased++;
                int area = (bottom - top) * (right - left);
                Assert.That(area, Is.InRange(1, Size * Size - 1), "area inside the image");
                Assert.That(top >= 0 && left >= 0 && bottom <= Size && right <= Size, $"sample {n} in bounds");
                double ratio = (bottom - top) / (double)(right - left);
                Assert.That(ratio, Is.InRange(0.25, 4.0), "aspect ratio near [0.5, 2] (rounded sides)");
            }
            for (int h = 0; h < Size; h++)
                for (int w = 0; w < Size; w++)
                {
                    bool inside = h >= top && h < bottom && w >= left && w < right;
                    Assert.That(Pixel(after, C, n, 0, h, w), Is.EqualTo(inside ? -3f : Pixel(before, C, n, 0, h, w)));
                }
        }
        Assert.That(erased / (double)N, Is.EqualTo(p).Within(4 * Math.Sqrt(p * (1 - p) / N)), "erasing rate");
    }

    [Test]
    public void MixupMixesImagesAndTargetsWithOneLambdaAndAPermutation()
    {
        const int N = 16, C = 1, K = 5;
        using var images = Images(N, C);
        using var targets = OneHot(N, K);
        float[] x = images.ToArray(), t = targets.ToArray();
        using var augmentation = new Augmentation(4, new Mixup(1f));
        augmentation.Apply(images, targets, step: 2);
        float[] mixed = images.ToArray(), mixedTargets = targets.ToArray(), p = augmentation.LastParameters(0);
        float lambda = p[1], rest = p[2];
        Assert.That(lambda, Is.InRange(0f, 1f));
        Assert.That(rest, Is.EqualTo(1f - lambda));
        int[] partners = Enumerable.Range(0, N).Select(n => (int)p[n * 3]).ToArray();
        Assert.That(partners.OrderBy(v => v), Is.EqualTo(Enumerable.Range(0, N)), "partners form a permutation");
        Assert.That(partners.Where((v, n) => v != n).Count(), Is.GreaterThan(N / 2), "the permutation moves most samples");
        int row = C * Size * Size;
        for (int n = 0; n < N; n++)
        {
            Assert.That(p[n * 3 + 1], Is.EqualTo(lambda), "one λ per batch");
            for (int r = 0; r < row; r++)
                Assert.That(mixed[n * row + r], Is.EqualTo(lambda * x[n * row + r] + rest * x[partners[n] * row + r]));
            float sum = 0;
            for (int k = 0; k < K; k++)
            {
                Assert.That(mixedTargets[n * K + k], Is.EqualTo(lambda * t[n * K + k] + rest * t[partners[n] * K + k]));
                sum += mixedTargets[n * K + k];
            }
            Assert.That(sum, Is.EqualTo(1f).Within(1e-6), $"target row {n} is still a distribution");
        }
    }

    [TestCase(1f)]
    [TestCase(0.2f)]
    [TestCase(4f)]
    public void MixupLambdaFollowsBetaAlphaAlpha(float alpha)
    {
        const int Steps = 3000;
        using var images = Images(2, 1);
        using var targets = OneHot(2, 2);
        using var augmentation = new Augmentation(7, new Mixup(alpha));
        double sum = 0, sumOfSquares = 0;
        for (int step = 0; step < Steps; step++)
        {
            augmentation.Apply(images, targets, step);
            double lambda = augmentation.LastParameters(0)[1];
            sum += lambda;
            sumOfSquares += lambda * lambda;
        }
        // Beta(α, α): mean 1/2, variance 1/(4(2α + 1))
        double mean = sum / Steps, variance = sumOfSquares / Steps - mean * mean, expectedVariance = 1 / (4 * (2.0 * alpha + 1));
        Assert.That(mean, Is.EqualTo(0.5).Within(4 * Math.Sqrt(expectedVariance / Steps)), "E[λ]");
        Assert.That(variance, Is.EqualTo(expectedVariance).Within(0.1 * expectedVariance), "Var[λ]");
    }

    static Augmentation Everything(int seed) =>
        new(seed, new RandomCrop(Size, 2), new RandomHorizontalFlip(), new Cutout(3), new RandomErasing(0.5f), new Mixup(1f));

    float[] Augmented(int seed, long step)
    {
        using var images = Images(12);
        using var targets = OneHot(12, 3);
        using var augmentation = Everything(seed);
        augmentation.Apply(images, targets, step);
        return [.. images.ToArray(), .. targets.ToArray()];
    }

    [Test]
    public void SameSeedAndStepGiveTheSameBatchOthersDiffer()
    {
        float[] first = Augmented(3, 10);
        Assert.That(Augmented(3, 10), Is.EqualTo(first), "same seed, same step");
        Assert.That(Augmented(3, 11), Is.Not.EqualTo(first), "another step");
        Assert.That(Augmented(4, 10), Is.Not.EqualTo(first), "another seed");
    }

    [Test]
    public void StepDoesNotAllocate()
    {
        using var images = Images(32);
        using var targets = OneHot(32, 10);
        using var augmentation = Everything(1);
        AllocationAssert.SteadyStateAllocatesNothing(step => augmentation.Apply(images, targets, step), 20, "managed bytes allocated by 20 steps");
    }

    static IEnumerable<TestCaseData> InvalidArguments()
    {
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomCrop(0, 2)), "size");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomCrop(28, -1)), "padding");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomCrop(28, 2, float.NaN)), "fill");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomHorizontalFlip(1.5f)), "p");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomHorizontalFlip(float.NaN)), "p");
        yield return new TestCaseData(new TestDelegate(() => _ = new Cutout(0)), "size");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomErasing(-0.1f)), "p");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomErasing(scaleMin: 0f)), "scaleMin");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomErasing(scaleMin: 0.3f, scaleMax: 0.2f)), "scaleMax");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomErasing(ratioMin: 0f)), "ratioMin");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomErasing(ratioMin: 2f, ratioMax: 1f)), "ratioMax");
        yield return new TestCaseData(new TestDelegate(() => _ = new RandomErasing(value: float.PositiveInfinity)), "value");
        yield return new TestCaseData(new TestDelegate(() => _ = new Mixup(0f)), "alpha");
    }

    [TestCaseSource(nameof(InvalidArguments))]
    public void InvalidArgumentNamesTheParameter(TestDelegate create, string parameter)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(create)!;
        Assert.That(error.ParamName, Is.EqualTo(parameter));
        Assert.That(error.Message, Does.StartWith(parameter + " must"));
    }

    [Test]
    public void ShapeErrorsSayWhatIsWrong()
    {
        using var images = Images(4);
        using var crop = new Augmentation(1, new RandomCrop(28, 2));
        Assert.That(() => crop.Apply(images, null, 0), Throws.TypeOf<ShapeException>().With.Message.Contains("size 28 must equal the images' height and width"));
        using var mixup = new Augmentation(1, new Mixup());
        Assert.That(() => mixup.Apply(images, null, 0), Throws.TypeOf<ShapeException>().With.Message.Contains("no targets"));
        using var targets = OneHot(3, 10);
        Assert.That(() => mixup.Apply(images, targets, 0), Throws.TypeOf<ShapeException>().With.Message.Contains("N = 4, got (3,10)"));
    }

    [Test]
    public void ParseBuildsTheListedTransformsInOrderAndRejectsUnknownNames()
    {
        using var augmentation = Augmentation.Parse(" Flip, crop,mixup ", 28, 5, padValue: -0.8f);
        Assert.That(augmentation.Transforms.Select(t => t.GetType()), Is.EqualTo(new[] { typeof(RandomHorizontalFlip), typeof(RandomCrop), typeof(Mixup) }));
        var crop = (RandomCrop)augmentation.Transforms[1];
        Assert.That((crop.Size, crop.Padding, crop.Fill), Is.EqualTo((28, 2, -0.8f)));
        Assert.That(augmentation.Seed, Is.EqualTo(5));
        Assert.That(() => Augmentation.Parse("crop,blur", 28, 1), Throws.ArgumentException.With.Message.EqualTo("unknown augmentation 'blur'; known: crop, flip, cutout, erasing, mixup"));
        Assert.That(() => Augmentation.Parse("flip,flip", 28, 1), Throws.ArgumentException.With.Message.EqualTo("augmentation 'flip' is listed twice"));
    }
}
