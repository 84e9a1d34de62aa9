namespace NeuroPlugin.Backends.OpenGL;

// The training monitor's statistics (statistics.comp): split reductions through the shared scratch buffer, no shared
// memory, no atomics, every sum folded in slice order. Nothing here reads back; the monitor fetches the statistics
// tensor through an AsyncReadback.
public sealed partial class GLBackend
{
    /// <summary>Values one invocation of a summary pass reads at least; fewer, larger slices only for big tensors.</summary>
    const int StatisticsSliceLength = 256;
    /// <summary>The most invocations of a summary pass: bounds the partials the final passes fold one by one.</summary>
    const int MaxStatisticsSlices = 1024;
    /// <summary>Words of one slice's partial range (statistics.comp's RANGE_WORDS: the layout's first ten words).</summary>
    const int RangeWords = StatisticsLayout.SquaredDeviations;

    ComputeProgram? rangeProgram, rangeFinalProgram, deadProgram, deadFinalProgram, classifyProgram;
    readonly Dictionary<int, (ComputeProgram Spread, ComputeProgram SpreadFinal)> spreadPrograms = new();

    /// <inheritdoc/>
    public void Summarize(Tensor input, Tensor statistics, int offset, int bins,
        float saturationLow = float.NegativeInfinity, float saturationHigh = float.PositiveInfinity)
    {
        EnsureUsable();
        StatisticsLayout.Check(statistics, offset, bins);
        int length = input.Length;
        int slices = Math.Clamp(DivideRoundingUp(length, StatisticsSliceLength), 1, MaxStatisticsSlices);
        var partial = Scratch(slices * Math.Max(RangeWords, 2 + bins));
        var (spread, spreadFinal) = SpreadPrograms(bins);

        var range = Bound(Program(ref rangeProgram, "statistics.comp", "RANGE"), [input], []);
        Bind(Output1, partial);
        range.SetUniform("elementCount", length);
        range.SetUniform("slices", slices);
        range.SetUniform("saturateLow", float.IsNegativeInfinity(saturationLow) ? 0 : 1);
        range.SetUniform("saturateHigh", float.IsPositiveInfinity(saturationHigh) ? 0 : 1);
        range.SetUniform("low", saturationLow);
        range.SetUniform("high", saturationHigh);
        range.Dispatch(slices, 1, DivideRoundingUp(length, slices));

        var rangeFinal = Bound(Program(ref rangeFinalProgram, "statistics.comp", "RANGE_FINAL"), [], [statistics]);
        Bind(Input0, partial);
        rangeFinal.SetUniform("slices", slices);
        rangeFinal.SetUniform("offset", offset);
        rangeFinal.Dispatch(1, 1, slices);

        Bound(spread, [input, statistics], []);
        Bind(Output1, partial);
        spread.SetUniform("elementCount", length);
        spread.SetUniform("slices", slices);
        spread.SetUniform("offset", offset);
        spread.Dispatch(slices, 1, DivideRoundingUp(length, slices));

        Bound(spreadFinal, [], [statistics]);
        Bind(Input0, partial);
        spreadFinal.SetUniform("slices", slices);
        spreadFinal.SetUniform("offset", offset);
        spreadFinal.Dispatch(1 + bins, 1, slices);
    }

    /// <summary>The SPREAD and SPREAD_FINAL variants for a bin count (the histogram is a per-invocation array of BINS
    /// counts); compiled once per count, looked up without allocating afterwards.</summary>
    (ComputeProgram Spread, ComputeProgram SpreadFinal) SpreadPrograms(int bins)
    {
        if (spreadPrograms.TryGetValue(bins, out var programs)) return programs;
        programs = (Shaders.Get("statistics.comp", $"SPREAD;BINS={bins}"), Shaders.Get("statistics.comp", $"SPREAD_FINAL;BINS={bins}"));
        spreadPrograms.Add(bins, programs);
        return programs;
    }

    /// <inheritdoc/>
    public void CountDeadChannels(Tensor input, Tensor statistics, int offset)
    {
        EnsureUsable();
        StatisticsLayout.CheckDeadChannels(input, statistics, offset);
        int batch = input.Shape[0], channels = input.Shape[1], planes = batch * channels;
        int planeLength = input.Length / planes;
        var partial = Scratch(planes);

        var dead = Bound(Program(ref deadProgram, "statistics.comp", "DEAD"), [input], []);
        Bind(Output1, partial);
        dead.SetUniform("planes", planes);
        dead.SetUniform("planeLength", planeLength);
        dead.Dispatch(planes, 1, planeLength);

        var deadFinal = Bound(Program(ref deadFinalProgram, "statistics.comp", "DEAD_FINAL"), [], [statistics]);
        Bind(Input0, partial);
        deadFinal.SetUniform("batch", batch);
        deadFinal.SetUniform("channels", channels);
        deadFinal.SetUniform("offset", offset);
        deadFinal.Dispatch(1, 1, planes);
    }

    /// <inheritdoc/>
    public void ClassifyRows(Tensor logits, Tensor target, Tensor results)
    {
        EnsureUsable();
        StatisticsLayout.CheckClassifyShapes(logits, target, results);
        var program = Bound(Program(ref classifyProgram, "statistics.comp", "CLASSIFY"), [logits, target], [results]);
        program.SetUniform("rows", logits.Shape[0]);
        program.SetUniform("classes", logits.Shape[1]);
        program.Dispatch(logits.Shape[0], 1, 3L * logits.Shape[1]);
    }
}
