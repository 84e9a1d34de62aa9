using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// One evaluation of a classifier on a labelled dataset, in eval mode (an inference plan: running batch-norm statistics,
/// no dropout), that can be spread over frames: <see cref="Advance"/> issues batches (upload, forward,
/// <see cref="IBackend.ClassifyRows"/> against the one-hot labels) and collects the per-image rows of earlier batches
/// through an <see cref="AsyncReadback"/> — 4 floats per image, whatever the class count — into the confusion matrix, the
/// summed loss, the most confidently wrong images and each image's predicted class. <see cref="Result"/> gives the <see cref="EvaluationSample"/>.
/// All calls on the backend's thread; Dispose releases the plan and tensors.
/// </summary>
public sealed class ModelEvaluation : IDisposable
{
    const int Slots = 3;

    readonly ExecutionPlan plan;
    readonly Tensor target, rows;
    readonly AsyncReadback readback;
    readonly DataLoader loader;
    readonly ImageDataset dataset;
    readonly int classes, keep;
    readonly long[][] confusion;
    readonly float[] values;
    readonly int[] batchStarts = new int[Slots], batchCounts = new int[Slots];
    readonly List<Misclassification> wrong = [];
    readonly int[] predictions;
    int issued, collected, evaluated;
    double lossSum;
    bool disposed;

    /// <param name="network">A classifier whose output is logits (N,K), K = the dataset's class count.</param>
    /// <param name="dataset">The labelled images, evaluated in order.</param>
    /// <param name="batchSize">Images per forward.</param>
    /// <param name="mostConfidentlyWrong">Mistakes to keep, the most confident first.</param>
    /// <exception cref="ArgumentException">The network's output is not (N, classes of the dataset).</exception>
    public ModelEvaluation(Network network, ImageDataset dataset, int batchSize = 250, int mostConfidentlyWrong = 16)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(mostConfidentlyWrong);
        this.dataset = dataset;
        keep = mostConfidentlyWrong;
        classes = dataset.ClassCount;
        batchSize = Math.Min(batchSize, Math.Max(1, dataset.Count));
        plan = ExecutionPlan.ForInference(network, batchSize);
        try
        {
            if (plan.Output.Shape.Rank != 2 || plan.Output.Shape[1] != classes)
                throw new ArgumentException($"evaluating '{dataset.Name}' ({classes} classes) needs logits (N,{classes}); the network's output '{network.Graph.Output}' is {plan.Output.Shape}", nameof(network));
            var backend = network.Backend;
            target = backend.Allocate(plan.Output.Shape, "evaluation.target");
            rows = backend.Allocate(new TensorShape(batchSize, 4), "evaluation.rows");
            readback = new AsyncReadback(backend, rows.Length, Slots);
        }
        catch
        {
            target?.Dispose();
            rows?.Dispose();
            plan.Dispose();
            throw;
        }
        loader = new DataLoader(dataset, batchSize, shuffle: false);
        loader.StartEpoch(0);
        values = new float[rows.Length];
        predictions = new int[dataset.Count];
        confusion = new long[classes][];
        for (int c = 0; c < classes; c++) confusion[c] = new long[classes];
        BatchCount = loader.BatchesPerEpoch;
    }

    /// <summary>Batches in the dataset.</summary>
    public int BatchCount { get; }
    /// <summary>Batches whose results have been collected.</summary>
    public int BatchesDone => collected;
    /// <summary>True once every batch has been collected.</summary>
    public bool IsComplete => collected == BatchCount;

    /// <summary>
    /// Issues up to <paramref name="maxBatches"/> more batches (as many as the readback slots allow) and collects every
    /// finished one; with <paramref name="wait"/> it waits for the device whenever the slots are full and until every
    /// batch issued has been collected (a blocking evaluation). Returns <see cref="IsComplete"/>.
    /// </summary>
    public bool Advance(int maxBatches = 1, bool wait = false)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBatches);
        for (int issuedNow = 0; issued < BatchCount && issuedNow < maxBatches; issuedNow++)
        {
            while (readback.PendingCount > 0 && Collect(wait: false)) { }
            if (readback.PendingCount == Slots)
            {
                if (!wait) break;
                Collect(wait: true);
            }
            Issue();
        }
        while (readback.PendingCount > 0 && Collect(wait)) { }
        return IsComplete;
    }

    void Issue()
    {
        loader.TryNextBatch();
        plan.Input.Upload(loader.Images);
        target.Upload(loader.Targets);
        plan.Forward();
        plan.Network.Backend.ClassifyRows(plan.Output, target, rows);
        int slot = (int)(readback.Request(rows) % Slots);
        batchStarts[slot] = issued * plan.BatchSize;
        batchCounts[slot] = loader.Count;
        issued++;
    }

    bool Collect(bool wait)
    {
        long request;
        if (wait) request = readback.Read(values);
        else if (!readback.TryRead(values, out request)) return false;
        int slot = (int)(request % Slots), first = batchStarts[slot];
        for (int n = 0; n < batchCounts[slot]; n++)
        {
            int predicted = (int)values[4 * n], label = (int)values[4 * n + 1];
            confusion[label][predicted]++;
            predictions[first + n] = predicted;
            lossSum += values[4 * n + 3];
            if (predicted != label) NoteMistake(first + n, label, predicted, values[4 * n + 2]);
        }
        evaluated += batchCounts[slot];
        collected++;
        return true;
    }

    /// <summary>Keeps the <c>keep</c> most confident mistakes, most confident first (earlier images first on ties).</summary>
    void NoteMistake(int index, int label, int predicted, double confidence)
    {
        if (keep == 0 || (wrong.Count == keep && confidence <= wrong[^1].Confidence)) return;
        int at = wrong.Count;
        while (at > 0 && wrong[at - 1].Confidence < confidence) at--;
        wrong.Insert(at, new Misclassification(index, label, predicted, confidence, dataset.GetImage(index).ToArray()));
        if (wrong.Count > keep) wrong.RemoveAt(keep);
    }

    /// <summary>The evaluation's figures, labelled with the training <paramref name="step"/> and <paramref name="epoch"/>.</summary>
    /// <exception cref="InvalidOperationException">Not every batch has been collected yet.</exception>
    public EvaluationSample Result(long step, int epoch)
    {
        if (!IsComplete) throw new InvalidOperationException($"the evaluation of '{dataset.Name}' has collected {collected} of {BatchCount} batches");
        long correct = 0;
        for (int c = 0; c < classes; c++) correct += confusion[c][c];
        return new EvaluationSample(step, epoch, evaluated, evaluated == 0 ? double.NaN : lossSum / evaluated,
            evaluated == 0 ? double.NaN : (double)correct / evaluated, confusion.Select(row => (IReadOnlyList<long>)row.ToArray()).ToArray(),
            [.. dataset.ClassNames], [.. wrong], dataset.Channels, dataset.Height, dataset.Width) { Predictions = [.. predictions] };
    }

    /// <summary>Releases the inference plan, the tensors and the readback. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        readback.Dispose();
        rows.Dispose();
        target.Dispose();
        plan.Dispose();
    }
}
