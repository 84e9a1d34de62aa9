namespace NeuroPlugin.Tests.Data;

/// <summary>DataLoader: batching, deterministic shuffling, normalization, one-hot targets, no allocation per batch.</summary>
public class DataLoaderTests
{
    /// <summary>N items of 2×3 pixels; pixel p of item n is <c>(7n + p) mod 256</c>, label <c>n mod 10</c>.</summary>
    static ImageDataset Synthetic(int count, PixelNormalization? normalization = null)
    {
        var images = new byte[count * 6];
        var labels = new byte[count];
        for (int n = 0; n < count; n++)
        {
            for (int p = 0; p < 6; p++)
                images[n * 6 + p] = IdxTestFiles.PixelValue(n, p);
            labels[n] = (byte)(n % 10);
        }
        return new ImageDataset("synthetic", images, labels, count, 2, 3, FashionMnist.ClassNames, normalization);
    }

    /// <summary>The dataset indices of every batch of one epoch, concatenated.</summary>
    static int[] EpochOrder(DataLoader loader, int epoch)
    {
        loader.StartEpoch(epoch);
        var order = new List<int>();
        while (loader.TryNextBatch())
            order.AddRange(loader.BatchIndices.ToArray());
        return [.. order];
    }

    [Test]
    public void SameSeedGivesSameOrder()
    {
        var a = new DataLoader(Synthetic(100), batchSize: 8, seed: 5);
        var b = new DataLoader(Synthetic(100), batchSize: 8, seed: 5);
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.That(EpochOrder(a, epoch), Is.EqualTo(EpochOrder(b, epoch)), $"epoch {epoch}");
    }

    [Test]
    public void OrderDependsOnlyOnSeedAndEpoch()
    {
        var visitsAll = new DataLoader(Synthetic(100), batchSize: 8, seed: 5);
        EpochOrder(visitsAll, 0);
        EpochOrder(visitsAll, 1);
        var jumps = new DataLoader(Synthetic(100), batchSize: 8, seed: 5);
        Assert.That(EpochOrder(jumps, 2), Is.EqualTo(EpochOrder(visitsAll, 2)));
    }

    [Test]
    public void DifferentSeedsAndEpochsGiveDifferentOrders()
    {
        var a = new DataLoader(Synthetic(100), batchSize: 8, seed: 5);
        var b = new DataLoader(Synthetic(100), batchSize: 8, seed: 6);
        Assert.That(EpochOrder(a, 0), Is.Not.EqualTo(EpochOrder(b, 0)));
        Assert.That(EpochOrder(a, 0), Is.Not.EqualTo(EpochOrder(a, 1)));
        Assert.That(EpochOrder(a, 0), Is.Not.EqualTo(Enumerable.Range(0, 100)), "shuffled, not the identity");
    }

    [Test]
    public void ShuffleMatchesTheDocumentedAlgorithm()
    {
        // Golden orders from a Python transcription of the algorithm in DataLoader's docs (SplitMix64 + Lemire + Fisher–Yates).
        var loader = new DataLoader(Synthetic(10), batchSize: 10, seed: 42);
        Assert.That(EpochOrder(loader, 0), Is.EqualTo(new[] { 1, 0, 7, 6, 5, 8, 4, 3, 2, 9 }));
        Assert.That(EpochOrder(loader, 1), Is.EqualTo(new[] { 8, 5, 0, 6, 7, 2, 3, 9, 1, 4 }));
        Assert.That(EpochOrder(new DataLoader(Synthetic(10), batchSize: 3, seed: -1), 3), Is.EqualTo(new[] { 4, 9, 3, 7, 8, 2, 6, 1, 0, 5 }));

        var random = new SplitMix64(0);
        Assert.That(random.Next(), Is.EqualTo(0xE220A8397B1DCDAFUL), "SplitMix64 reference output for state 0");
        Assert.That(random.Next(), Is.EqualTo(0x6E789E6AA1B965F4UL));
    }

    [Test]
    public void EveryEpochIsAPermutation()
    {
        var loader = new DataLoader(Synthetic(103), batchSize: 10, seed: 1);
        for (int epoch = 0; epoch < 5; epoch++)
        {
            int[] order = EpochOrder(loader, epoch);
            Assert.That(order, Has.Length.EqualTo(103));
            Assert.That(order.Order(), Is.EqualTo(Enumerable.Range(0, 103)), $"epoch {epoch} covers every item once");
            Assert.That(loader.EpochOrder.ToArray(), Is.EqualTo(order));
        }
    }

    [Test]
    public void ShuffleIsUniformOverPermutations()
    {
        // 24000 shuffles of 4 items: each of the 24 permutations ~1000 times (σ ≈ 31); an off-by-one
        // in Fisher–Yates would leave some permutations out or skew them far beyond 5σ.
        var loader = new DataLoader(Synthetic(4), batchSize: 4, seed: 9);
        var counts = new Dictionary<int, int>();
        for (int epoch = 0; epoch < 24000; epoch++)
        {
            loader.StartEpoch(epoch);
            ReadOnlySpan<int> o = loader.EpochOrder;
            int key = o[0] * 1000 + o[1] * 100 + o[2] * 10 + o[3];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        Assert.That(counts, Has.Count.EqualTo(24));
        Assert.That(counts.Values, Is.All.InRange(845, 1155));
    }

    [Test]
    public void WithoutShuffleTheOrderIsTheDatasetOrder()
    {
        var loader = new DataLoader(Synthetic(10), batchSize: 4, shuffle: false);
        Assert.That(EpochOrder(loader, 7), Is.EqualTo(Enumerable.Range(0, 10)));
    }

    [Test]
    public void ImagesAreNormalizedAndTargetsAreOneHot()
    {
        ImageDataset data = Synthetic(20, FashionMnist.Normalization);
        var loader = new DataLoader(data, batchSize: 8, seed: 3);
        loader.StartEpoch(0);
        Assert.That(loader.TryNextBatch(), Is.True);
        Assert.That(loader.Count, Is.EqualTo(8));
        Assert.That(loader.Images, Has.Length.EqualTo(8 * 1 * 2 * 3));
        Assert.That(loader.Targets, Has.Length.EqualTo(8 * 10));

        for (int n = 0; n < 8; n++)
        {
            int item = loader.BatchIndices[n];
            for (int p = 0; p < 6; p++)
            {
                double x = data.Images[item * 6 + p];
                Assert.That(loader.Images[n * 6 + p], Is.EqualTo((x / 255 - 0.2860) / 0.3530).Within(1e-6), $"row {n} pixel {p}");
            }
            Assert.That(loader.Labels[n], Is.EqualTo(data.Labels[item]));
            for (int k = 0; k < 10; k++)
                Assert.That(loader.Targets[n * 10 + k], Is.EqualTo(k == data.Labels[item] ? 1f : 0f), $"row {n} class {k}");
        }
    }

    [Test]
    public void NormalizationEndpointsAndOverrides()
    {
        Assert.That(FashionMnist.Normalization.Apply(0), Is.EqualTo(-0.2860f / 0.3530f).Within(1e-6));
        Assert.That(FashionMnist.Normalization.Apply(255), Is.EqualTo((1 - 0.2860f) / 0.3530f).Within(1e-6));
        Assert.That(PixelNormalization.Identity.Apply(51), Is.EqualTo(0.2f).Within(1e-7));

        // Dataset's own normalization by default; an argument overrides it.
        ImageDataset data = Synthetic(4, FashionMnist.Normalization);
        var plain = new DataLoader(data, batchSize: 4, shuffle: false, normalization: new PixelNormalization(0.5f, 0.5f));
        plain.StartEpoch(0);
        plain.TryNextBatch();
        for (int i = 0; i < 24; i++)
            Assert.That(plain.Images[i], Is.EqualTo(data.Images[i] / 127.5 - 1).Within(1e-6));
        Assert.That(new DataLoader(data, 4).Normalization, Is.EqualTo(FashionMnist.Normalization));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PixelNormalization(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PixelNormalization(float.NaN, 1));
    }

    [Test]
    public void LastPartialBatchIsKeptAndPadded()
    {
        var loader = new DataLoader(Synthetic(10), batchSize: 4, shuffle: false);
        Assert.That(loader.BatchesPerEpoch, Is.EqualTo(3));
        loader.StartEpoch(0);
        var counts = new List<int>();
        while (loader.TryNextBatch())
            counts.Add(loader.Count);
        Assert.That(counts, Is.EqualTo(new[] { 4, 4, 2 }));
        Assert.That(loader.BatchIndex, Is.EqualTo(2));
        Assert.That(loader.BatchIndices.ToArray(), Is.EqualTo(new[] { 8, 9 }));
        Assert.That(loader.Labels, Is.EqualTo(new byte[] { 8, 9, 0, 0 }));
        Assert.That(loader.Images[12..], Is.All.EqualTo(0f), "rows 2..3 of the images are cleared");
        Assert.That(loader.Targets[20..], Is.All.EqualTo(0f), "rows 2..3 of the targets are cleared");
        Assert.That(loader.Targets[..20].Sum(), Is.EqualTo(2f));
        Assert.That(loader.TryNextBatch(), Is.False, "stays finished");
    }

    [Test]
    public void DropLastSkipsThePartialBatch()
    {
        var loader = new DataLoader(Synthetic(10), batchSize: 4, seed: 2, dropLast: true);
        Assert.That(loader.BatchesPerEpoch, Is.EqualTo(2));
        loader.StartEpoch(0);
        int batches = 0;
        while (loader.TryNextBatch())
        {
            Assert.That(loader.Count, Is.EqualTo(4));
            batches++;
        }
        Assert.That(batches, Is.EqualTo(2));
    }

    [Test]
    public void InvalidArgumentsAreRejected()
    {
        ImageDataset data = Synthetic(10);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, batchSize: 0))!;
        Assert.That(zero.Message, Does.Contain("batch size must be > 0, got 0"));
        Assert.That(zero.ParamName, Is.EqualTo("batchSize"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, batchSize: -3));

        var loader = new DataLoader(data, batchSize: 4);
        var early = Assert.Throws<InvalidOperationException>(() => loader.TryNextBatch())!;
        Assert.That(early.Message, Does.Contain("StartEpoch"));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.StartEpoch(-1));
    }

    [Test]
    public void SteadyStateAllocatesNothing()
    {
        ImageDataset data = FashionMnistTests.Train.Take(6000);
        var loader = new DataLoader(data, batchSize: 64, seed: 11);
        float checksum = 0;
        int batches = 0;
        AllocationAssert.SteadyStateAllocatesNothing(epoch =>
        {
            batches = 0;
            loader.StartEpoch(epoch);
            while (loader.TryNextBatch())
            {
                checksum += loader.Images[0] + loader.Targets[0] + loader.BatchIndices[0];
                batches++;
            }
        }, 1, "bytes allocated over a whole epoch after warm-up");
        Assert.That(batches, Is.EqualTo(94));
        Assert.That(float.IsFinite(checksum), Is.True);
    }
}
