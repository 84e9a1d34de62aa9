namespace NeuroPlugin.Data;

/// <summary>
/// Cuts an <see cref="ImageDataset"/> into mini-batches, in a fresh shuffled order every epoch, and fills
/// host arrays the caller can upload straight into input tensors. The arrays are allocated once, here;
/// <see cref="StartEpoch(int)"/> and <see cref="TryNextBatch"/> allocate nothing on the managed heap.
/// <code>
/// var loader = new DataLoader(FashionMnist.LoadTrain(), batchSize: 64, seed: 1);
/// for (int epoch = 0; epoch &lt; epochs; epoch++)
/// {
///     loader.StartEpoch(epoch);
///     while (loader.TryNextBatch())
///     {
///         input.Upload(loader.Images);    // (B,1,28,28)
///         target.Upload(loader.Targets);  // (B,10)
///         // loader.Count items are real; with dropLast: false the last batch may be short
///     }
/// }
/// </code>
/// <para>Shuffling: the order of epoch <c>e</c> is a Fisher–Yates shuffle of <c>0..N−1</c> driven by
/// <see cref="SplitMix64"/> started from state <c>(uint)seed ≪ 32 | (uint)e</c>, so it depends only on
/// (seed, epoch): the same on every run and machine, whichever epochs were visited before.
/// Step <c>i = N−1 … 1</c> swaps <c>order[i]</c> with <c>order[j]</c>, <c>j</c> uniform in <c>0..i</c>.</para>
/// </summary>
public sealed class DataLoader
{
    readonly int[] order;
    readonly float[] pixelTable = new float[256];
    int epoch = -1;
    int nextPosition;
    int batchStart;
    int batchIndex = -1;

    /// <summary>Prepares the loader and allocates its batch arrays.</summary>
    /// <param name="dataset">The items; shared, not copied.</param>
    /// <param name="batchSize">B, items per batch (&gt; 0).</param>
    /// <param name="shuffle">Shuffle every epoch (true) or keep the dataset's order (false).</param>
    /// <param name="seed">Seed of the shuffle; the same seed gives the same order for the same epoch.</param>
    /// <param name="dropLast">Skip the last batch when it would hold fewer than B items (keeps every batch full).</param>
    /// <param name="normalization">Pixel normalization; the dataset's own (<see cref="ImageDataset.Normalization"/>) when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> ≤ 0, or the batch arrays would exceed an array's size.</exception>
    public DataLoader(ImageDataset dataset, int batchSize, bool shuffle = true, int seed = 0, bool dropLast = false,
        PixelNormalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batch size must be > 0, got {batchSize}");
        long imageFloats = (long)batchSize * dataset.PixelsPerImage;
        long targetFloats = (long)batchSize * dataset.ClassCount;
        if (Math.Max(imageFloats, targetFloats) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"a batch of {batchSize} images of {dataset.Height}×{dataset.Width} with {dataset.ClassCount} classes needs {imageFloats} + {targetFloats} floats, more than an array holds");

        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Normalization = normalization ?? dataset.Normalization;
        Normalization.FillTable(pixelTable);

        order = new int[dataset.Count];
        Images = new float[imageFloats];
        Targets = new float[targetFloats];
        Labels = new byte[batchSize];
    }

    /// <summary>The items being batched.</summary>
    public ImageDataset Dataset { get; }
    /// <summary>B, the capacity of a batch.</summary>
    public int BatchSize { get; }
    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }
    /// <summary>The shuffle seed.</summary>
    public int Seed { get; }
    /// <summary>Whether a last batch shorter than <see cref="BatchSize"/> is skipped.</summary>
    public bool DropLast { get; }
    /// <summary>The pixel normalization applied to <see cref="Images"/>.</summary>
    public PixelNormalization Normalization { get; }

    /// <summary>Batches per epoch: <c>⌊N/B⌋</c> with <see cref="DropLast"/>, else <c>⌈N/B⌉</c>.</summary>
    public int BatchesPerEpoch => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>Inputs of the current batch, <c>(B,C,H,W)</c>: <c>(x/255 − mean)/std</c> per pixel
    /// (see <see cref="Normalization"/>). Rows <c>Count..B−1</c> are zero.</summary>
    public float[] Images { get; }
    /// <summary>One-hot targets of the current batch, <c>(B,K)</c>: <c>Targets[n·K + Labels[n]] = 1</c>, 0 elsewhere. Rows <c>Count..B−1</c> are zero.</summary>
    public float[] Targets { get; }
    /// <summary>Class indices of the current batch, <c>(B)</c>. Entries <c>Count..B−1</c> are zero.</summary>
    public byte[] Labels { get; }
    /// <summary>Number of real items in the current batch: B, or fewer for the last batch when <see cref="DropLast"/> is false; 0 before the first batch.</summary>
    public int Count { get; private set; }

    /// <summary>The epoch started by the last <see cref="StartEpoch(int)"/>, or −1 before the first.</summary>
    public int Epoch => epoch;
    /// <summary>Index of the current batch within the epoch, or −1 before the epoch's first batch.</summary>
    public int BatchIndex => batchIndex;
    /// <summary>The dataset indices of the current batch's items, in batch order (length <see cref="Count"/>).</summary>
    public ReadOnlySpan<int> BatchIndices => order.AsSpan(batchStart, Count);
    /// <summary>The whole order of the current epoch: a permutation of <c>0..N−1</c>.</summary>
    public ReadOnlySpan<int> EpochOrder => order;

    /// <summary>Starts epoch <paramref name="epoch"/>: computes its order (shuffled from (seed, epoch), or the
    /// dataset's order) and rewinds to its first batch. Allocates nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public void StartEpoch(int epoch)
    {
        if (epoch < 0)
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"epoch must be ≥ 0, got {epoch}");
        this.epoch = epoch;
        nextPosition = 0;
        batchStart = 0;
        batchIndex = -1;
        Count = 0;

        for (int i = 0; i < order.Length; i++)
            order[i] = i;
        if (!Shuffle)
            return;
        var random = new SplitMix64(((ulong)(uint)Seed << 32) | (uint)epoch);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)random.NextBelow((uint)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>Starts epoch <paramref name="epoch"/> at batch <paramref name="firstBatch"/>: the same order as
    /// <see cref="StartEpoch(int)"/>, with the first <paramref name="firstBatch"/> batches skipped without being filled
    /// (a training run resumed mid-epoch). Allocates nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstBatch"/> is negative or past the epoch's batches.</exception>
    public void StartEpoch(int epoch, int firstBatch)
    {
        if (firstBatch < 0 || firstBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"the first batch must be in 0..{BatchesPerEpoch}, got {firstBatch}");
        StartEpoch(epoch);
        nextPosition = Math.Min(firstBatch * BatchSize, order.Length);
        batchStart = nextPosition;
        batchIndex = firstBatch - 1;
    }

    /// <summary>Fills <see cref="Images"/>, <see cref="Targets"/>, <see cref="Labels"/> and <see cref="Count"/>
    /// with the next batch of the epoch. Allocates nothing.</summary>
    /// <returns>False, leaving the arrays as they were, when the epoch has no more batches.</returns>
    /// <exception cref="InvalidOperationException"><see cref="StartEpoch(int)"/> has not been called.</exception>
    public bool TryNextBatch()
    {
        if (epoch < 0)
            throw new InvalidOperationException("call StartEpoch(epoch) before TryNextBatch()");
        int remaining = order.Length - nextPosition;
        int count = Math.Min(BatchSize, remaining);
        if (count == 0 || (DropLast && count < BatchSize))
            return false;

        int pixels = Dataset.PixelsPerImage;
        int classes = Dataset.ClassCount;
        byte[] sourceImages = Dataset.Images;
        byte[] sourceLabels = Dataset.Labels;
        ReadOnlySpan<float> table = pixelTable;
        Array.Clear(Targets);
        for (int n = 0; n < count; n++)
        {
            int item = order[nextPosition + n];
            ReadOnlySpan<byte> source = sourceImages.AsSpan(item * pixels, pixels);
            Span<float> destination = Images.AsSpan(n * pixels, pixels);
            for (int p = 0; p < pixels; p++)
                destination[p] = table[source[p]];
            byte label = sourceLabels[item];
            Labels[n] = label;
            Targets[n * classes + label] = 1f;
        }
        // A short last batch must not carry the previous batch's items in its unused rows.
        Images.AsSpan(count * pixels).Clear();
        Labels.AsSpan(count).Clear();

        batchStart = nextPosition;
        nextPosition += count;
        batchIndex++;
        Count = count;
        return true;
    }
}
