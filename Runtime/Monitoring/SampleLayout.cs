using NeuroPlugin.Execution;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// Where every number of a training sample lives in the monitor's statistics tensor, the device work that fills it, and
/// the decoding of the words read back into a <see cref="TrainingSample"/>. Words, in order: per parameter the summaries of
/// its weights, gradient and (when tracked) update; per node the summary of its output, its dead-channel count and the
/// summary of its output gradient (when it has one); the loss; the batch's classification rows (N,4)
/// (<see cref="IBackend.ClassifyRows"/>). Holds the tensors the update needs (<c>−w</c> before the step, then <c>Δw</c>).
/// </summary>
internal sealed class SampleLayout : IDisposable
{
    readonly ExecutionPlan plan;
    readonly IBackend backend;
    readonly int bins, summaryWords;
    readonly ParameterEntry[] parameters;
    readonly NodeEntry[] nodes;
    readonly int lossWord, rowsWord, batch;
    readonly Tensor rows;
    readonly int[] lossStages;

    sealed record ParameterEntry(Tensor Weight, Tensor Gradient, Tensor? Update, int WeightWord, int GradientWord, int UpdateWord);

    sealed record NodeEntry(string Name, string Type, Tensor Output, Tensor? Gradient, bool Saturating, float Low, float High,
        int OutputWord, int DeadWord, int GradientWord, int ForwardStage, int BackwardStage);

    public SampleLayout(ExecutionPlan plan, int bins, bool trackUpdates)
    {
        this.plan = plan;
        backend = plan.Network.Backend;
        this.bins = bins;
        summaryWords = StatisticsLayout.Length(bins);
        batch = plan.BatchSize;
        int words = 0;
        int Take(int count) { int first = words; words = checked(words + count); return first; }

        var parameterList = new List<ParameterEntry>();
        try
        {
            for (int i = 0; i < plan.Parameters.Count; i++)
            {
                var weight = plan.Parameters[i];
                var update = trackUpdates ? backend.Allocate(weight.Shape, weight.Name + ".update") : null;
                parameterList.Add(new ParameterEntry(weight, plan.ParameterGradients[i], update,
                    Take(summaryWords), Take(summaryWords), update is null ? -1 : Take(summaryWords)));
            }
            parameters = [.. parameterList];

            var stages = plan.TrainingStages;
            var graphNodes = plan.Network.Graph.Nodes;
            nodes = new NodeEntry[graphNodes.Count];
            for (int k = 0; k < graphNodes.Count; k++)
            {
                var node = graphNodes[k];
                bool saturating = Saturation.TryGetBounds(node.Layer, out float low, out float high);
                var gradient = plan.OutputGradient(node.Name);
                nodes[k] = new NodeEntry(node.Name, node.Layer.Type, plan.Tensor(node.Name), gradient, saturating, low, high,
                    Take(summaryWords), Take(1), gradient is null ? -1 : Take(summaryWords),
                    StageOf(stages, PlanStageKind.Forward, k), StageOf(stages, PlanStageKind.Backward, k));
            }
            lossStages = [StageOf(stages, PlanStageKind.Loss, -1), StageOf(stages, PlanStageKind.LossBackward, -1)];
            lossWord = Take(1);
            rowsWord = Take(batch * 4);
            Length = words;
            rows = backend.Allocate(new TensorShape(batch, 4), "monitor.rows");
        }
        catch
        {
            foreach (var entry in parameterList) entry.Update?.Dispose();
            throw;
        }
    }

    /// <summary>Words of one sample.</summary>
    public int Length { get; }

    /// <summary>Stages of the plan's training step (the monitor times each).</summary>
    public int StageCount => plan.TrainingStages.Count;

    static int StageOf(IReadOnlyList<PlanStage> stages, PlanStageKind kind, int node)
    {
        for (int s = 0; s < stages.Count; s++)
            if (stages[s].Kind == kind && stages[s].Node == node) return s;
        return -1;
    }

    /// <summary>Before a sampled step's update: keeps <c>−w</c> of every parameter (exactly, so that adding the updated
    /// weights later gives <c>w_after − w_before</c> with one rounding, as a subtraction would).</summary>
    public void RememberWeights()
    {
        foreach (var entry in parameters)
        {
            if (entry.Update is not { } update) continue;
            backend.Fill(update, 0f);
            backend.Accumulate(entry.Weight, update, -1f);
        }
    }

    /// <summary>After a sampled step: queues every statistic into <paramref name="statistics"/> (device work only).</summary>
    public void Record(Tensor statistics)
    {
        foreach (var entry in parameters)
        {
            backend.Summarize(entry.Weight, statistics, entry.WeightWord, bins);
            backend.Summarize(entry.Gradient, statistics, entry.GradientWord, bins);
            if (entry.Update is { } update)
            {
                backend.Accumulate(entry.Weight, update, 1f);
                backend.Summarize(update, statistics, entry.UpdateWord, bins);
            }
        }
        foreach (var node in nodes)
        {
            backend.Summarize(node.Output, statistics, node.OutputWord, bins,
                node.Saturating ? node.Low : float.NegativeInfinity, node.Saturating ? node.High : float.PositiveInfinity);
            backend.CountDeadChannels(node.Output, statistics, node.DeadWord);
            if (node.Gradient is { } gradient) backend.Summarize(gradient, statistics, node.GradientWord, bins);
        }
        backend.CopyRange(plan.Loss!, 0, statistics, lossWord, 1);
        backend.ClassifyRows(plan.Output, plan.Target!, rows);
        backend.CopyRange(rows, 0, statistics, rowsWord, rows.Length);
    }

    /// <summary>The sample in <paramref name="words"/>; <paramref name="stageSeconds"/> holds each stage's time, or is
    /// empty when the step was not timed.</summary>
    public TrainingSample Decode(ReadOnlySpan<float> words, ReadOnlySpan<double> stageSeconds, in SampleContext context)
    {
        var parameterStatistics = new ParameterStatistics[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            var entry = parameters[i];
            parameterStatistics[i] = new ParameterStatistics(entry.Weight.Name,
                Summary(words, entry.WeightWord, entry.Weight.Length), Summary(words, entry.GradientWord, entry.Gradient.Length),
                entry.Update is null ? null : Summary(words, entry.UpdateWord, entry.Weight.Length));
        }
        var nodeStatistics = new NodeStatistics[nodes.Length];
        double? forward = null, backward = Sum(Milliseconds(stageSeconds, lossStages[0]), Milliseconds(stageSeconds, lossStages[1]));
        for (int k = 0; k < nodes.Length; k++)
        {
            var node = nodes[k];
            double? forwardMs = Milliseconds(stageSeconds, node.ForwardStage), backwardMs = Milliseconds(stageSeconds, node.BackwardStage);
            forward = Sum(forward, forwardMs);
            backward = Sum(backward, backwardMs);
            nodeStatistics[k] = new NodeStatistics(node.Name, node.Type, Summary(words, node.OutputWord, node.Output.Length),
                StatisticsLayout.ReadCount(words, node.DeadWord), node.Output.Shape[1], node.Saturating,
                node.Gradient is null ? null : Summary(words, node.GradientWord, node.Gradient.Length), forwardMs, backwardMs);
        }
        int correct = 0;
        for (int n = 0; n < batch; n++)
            if (words[rowsWord + 4 * n] == words[rowsWord + 4 * n + 1]) correct++;
        return new TrainingSample(context.Step, context.Epoch, words[lossWord], (double)correct / batch, context.LearningRate,
            context.ImagesPerSecond, context.ElapsedSeconds, batch, forward, backward,
            parameterStatistics, nodeStatistics);
    }

    TensorSummary Summary(ReadOnlySpan<float> words, int word, int count) => TensorSummary.Read(words.Slice(word, summaryWords), count, bins);

    static double? Milliseconds(ReadOnlySpan<double> stageSeconds, int stage) =>
        stage < 0 || stageSeconds.IsEmpty ? null : stageSeconds[stage] * 1e3;

    static double? Sum(double? total, double? value) => value is null ? total : (total ?? 0) + value;

    /// <summary>The run as the samples name it.</summary>
    public RunDescription Describe(int every) => new(backend.Name, backend.DeviceName, batch, every, bins,
        parameters.Select(p => new ParameterDescription(p.Weight.Name, Dimensions(p.Weight.Shape))).ToArray(),
        plan.Network.Graph.Nodes.Select((node, k) => new NodeDescription(node.Name, node.Layer.Type, [.. node.Inputs], Dimensions(nodes[k].Output.Shape))).ToArray());

    static int[] Dimensions(TensorShape shape)
    {
        var dimensions = new int[shape.Rank];
        for (int d = 0; d < shape.Rank; d++) dimensions[d] = shape[d];
        return dimensions;
    }

    public void Dispose()
    {
        foreach (var entry in parameters) entry.Update?.Dispose();
        rows.Dispose();
    }
}

/// <summary>What the host knew of a sampled step when it finished (the device's numbers come later).</summary>
internal readonly record struct SampleContext(long Step, int Epoch, float LearningRate, double ImagesPerSecond, double ElapsedSeconds);
