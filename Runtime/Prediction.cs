using System.Threading.Tasks.Sources;

namespace NeuroPlugin;

/// <summary>One class of a classifier's result: its index, its label and its probability.</summary>
public readonly record struct ClassScore(int Index, string Label, float Probability)
{
    /// <summary>"Sneaker 97.1 %".</summary>
    public override string ToString() => $"{Label} {Probability * 100:F1} %";
}

/// <summary>
/// A reusable result of a <see cref="NeuroModel"/>: the outputs of up to <see cref="Capacity"/> items and, for a
/// classifier (an (N,K) output), their probabilities and labels. Made once by <see cref="NeuroModel.CreatePrediction"/> and
/// filled by every predict or start call given it, so predicting allocates nothing.
/// <para>Probabilities are <c>softmax(outputs)</c> per item, <c>p[k] = exp(z[k] − max z) / Σⱼ exp(z[j] − max z)</c>,
/// computed on the host from the K values read back; a model whose output node is a Softmax already gives probabilities,
/// which are taken as they are.</para>
/// <para>A started prediction (<see cref="NeuroModel.Start(ReadOnlySpan{float}, Prediction)"/>) is pending until its values
/// come back from the GPU: <see cref="IsReady"/> polls for them without waiting, and the <see cref="ValueTask"/> the start
/// returned completes when <see cref="NeuroModel.Poll"/> (which <see cref="IsReady"/> and every call of the model run) finds
/// them — the continuation runs inside that call, on the model's thread. Reading a pending result throws.</para>
/// All calls on the model's thread.
/// </summary>
public sealed class Prediction : IValueTaskSource
{
    readonly float[] outputs, probabilities;
    readonly IReadOnlyList<string> labels;
    readonly bool outputsAreProbabilities;
    ManualResetValueTaskSourceCore<bool> completion;
    bool pending;

    internal Prediction(NeuroModel model, int capacity, int outputLength, int classCount, IReadOnlyList<string> labels, bool outputsAreProbabilities)
    {
        Model = model;
        Capacity = capacity;
        OutputLength = outputLength;
        ClassCount = classCount;
        this.labels = labels;
        this.outputsAreProbabilities = outputsAreProbabilities;
        outputs = new float[checked(capacity * outputLength)];
        probabilities = classCount > 0 ? new float[checked(capacity * classCount)] : [];
    }

    /// <summary>The model that made this result (the only one that may fill it).</summary>
    public NeuroModel Model { get; }
    /// <summary>The most items one call may predict into this result.</summary>
    public int Capacity { get; }
    /// <summary>Items in the latest result (0 before the first).</summary>
    public int Count { get; private set; }
    /// <summary>Values per item of the model's output.</summary>
    public int OutputLength { get; }
    /// <summary>K for a classifier's (N,K) output; 0 when the output is not class scores.</summary>
    public int ClassCount { get; }
    /// <summary>Results completed so far (a counter that tells a new result from the one already seen).</summary>
    public long Version { get; private set; }

    /// <summary>True once a result is here and no started prediction is still on its way. Polls the model (no wait) while
    /// one is pending.</summary>
    public bool IsReady
    {
        get
        {
            if (pending) Model.Poll();
            return !pending && Count > 0;
        }
    }

    /// <summary>True while a started prediction has not come back yet.</summary>
    public bool IsPending => pending;

    /// <summary>The raw output values of item <paramref name="item"/> (logits for a classifier).</summary>
    public ReadOnlySpan<float> Outputs(int item = 0)
    {
        CheckReadable(item);
        return outputs.AsSpan(item * OutputLength, OutputLength);
    }

    /// <summary>The class probabilities of item <paramref name="item"/> (K values summing to 1).</summary>
    /// <exception cref="InvalidOperationException">The output is not (N,K) class scores.</exception>
    public ReadOnlySpan<float> Probabilities(int item = 0)
    {
        CheckClassifier();
        CheckReadable(item);
        return probabilities.AsSpan(item * ClassCount, ClassCount);
    }

    /// <summary>The label of class <paramref name="index"/> (the model file's, or "class 3" when it has none).</summary>
    public string Label(int index) => labels[index];

    /// <summary>The most probable class of item <paramref name="item"/> (the lowest index among equals).</summary>
    public ClassScore Best(int item = 0)
    {
        var p = Probabilities(item);
        int best = 0;
        for (int k = 1; k < p.Length; k++) if (p[k] > p[best]) best = k;
        return new ClassScore(best, labels[best], p[best]);
    }

    /// <summary>Fills <paramref name="destination"/> with the <c>k = destination.Length</c> (at most K) most probable classes
    /// of item <paramref name="item"/>, most probable first (the lower index first among equals); returns how many it wrote.</summary>
    public int Top(Span<ClassScore> destination, int item = 0)
    {
        var p = Probabilities(item);
        int count = Math.Min(destination.Length, p.Length);
        // selection: K·k comparisons, nothing allocated (k is small, K at most a few thousand)
        for (int rank = 0; rank < count; rank++)
        {
            int best = -1;
            for (int k = 0; k < p.Length; k++)
            {
                if (best >= 0 && !(p[k] > p[best])) continue;
                if (Taken(destination[..rank], k)) continue;
                best = k;
            }
            destination[rank] = new ClassScore(best, labels[best], p[best]);
        }
        return count;
    }

    static bool Taken(ReadOnlySpan<ClassScore> chosen, int index)
    {
        foreach (var score in chosen) if (score.Index == index) return true;
        return false;
    }

    /// <summary>"Sneaker 97.1 %" (the first item's best class), or the state.</summary>
    public override string ToString() =>
        pending ? "pending" : Count == 0 ? "empty" : ClassCount > 0 ? Best().ToString() : $"{Count} × {OutputLength} outputs";

    void CheckReadable(int item)
    {
        if (pending) throw new InvalidOperationException("this prediction is still on its way from the GPU: wait until IsReady (or await the start) before reading it");
        if (Count == 0) throw new InvalidOperationException("this prediction holds no result yet: pass it to a predict call first");
        if ((uint)item >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(item), $"item {item} is outside the {Count} items of this result");
    }

    void CheckClassifier()
    {
        if (ClassCount == 0) throw new InvalidOperationException($"the model's output ({OutputLength} values per item) is not (N,K) class scores: read Outputs instead");
    }

    /// <summary>Where the model writes the outputs of <paramref name="count"/> items.</summary>
    internal Span<float> OutputBuffer(int count) => outputs.AsSpan(0, count * OutputLength);

    /// <summary>Marks the result as on its way; the returned task completes at <see cref="Complete"/>.</summary>
    internal ValueTask BeginPending()
    {
        if (pending) throw new InvalidOperationException("this prediction is already waiting for a result: use another Prediction for a second prediction in flight");
        completion.Reset();
        pending = true;
        return new ValueTask(this, completion.Version);
    }

    /// <summary>The outputs of <paramref name="count"/> items are in <see cref="OutputBuffer"/>: computes the probabilities
    /// and completes a pending start.</summary>
    internal void Complete(int count)
    {
        Count = count;
        if (ClassCount > 0)
            for (int item = 0; item < count; item++)
                Softmax(outputs.AsSpan(item * OutputLength, ClassCount), probabilities.AsSpan(item * ClassCount, ClassCount));
        Version++;
        if (!pending) return;
        pending = false;
        completion.SetResult(true); // runs an awaiting continuation here, on the model's thread
    }

    /// <summary>Fails a pending start (the model was disposed or its context lost).</summary>
    internal void Fail(Exception error)
    {
        if (!pending) return;
        pending = false;
        Count = 0;
        completion.SetException(error);
    }

    void Softmax(ReadOnlySpan<float> z, Span<float> p)
    {
        if (outputsAreProbabilities)
        {
            z.CopyTo(p);
            return;
        }
        float max = z[0];
        for (int k = 1; k < z.Length; k++) max = MathF.Max(max, z[k]);
        float sum = 0;
        for (int k = 0; k < z.Length; k++) sum += p[k] = MathF.Exp(z[k] - max);
        for (int k = 0; k < z.Length; k++) p[k] /= sum;
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => completion.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        completion.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => completion.GetResult(token);
}
