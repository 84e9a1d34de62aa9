namespace NeuroPlugin.Tests.TestSupport;

/// <summary>Windows over a stage's units of work (<see cref="WorkSlice"/>) that cover them once, in order: what the work
/// slice tests of both backends run an op through (the CPU's <c>ConvolutionSliceTests</c>, GL's <c>GLWorkSliceTests</c>).</summary>
public static class WorkSlicings
{
    /// <summary>The windows to try over <paramref name="units"/> units: one unit each, random sizes (with an empty window
    /// now and then) three times, everything at once (an open end), and halves.</summary>
    public static IEnumerable<(string Scheme, (long First, long End)[] Windows)> Of(long units, Random random)
    {
        yield return ("one unit per window", [.. Enumerable.Range(0, (int)units).Select(u => ((long)u, (long)u + 1))]);
        for (int round = 0; round < 3; round++)
        {
            var windows = new List<(long, long)>();
            for (long at = 0; at < units;)
            {
                if (random.Next(5) == 0) windows.Add((at, at));
                long end = Math.Min(units, at + 1 + random.Next((int)Math.Max(1, units / 3)));
                windows.Add((at, end));
                at = end;
            }
            yield return ($"random windows {string.Join(",", windows)}", [.. windows]);
        }
        yield return ("one open window", [(0, long.MaxValue)]);
        yield return ("halves", [(0, units / 2), (units / 2, long.MaxValue)]);
    }
}
