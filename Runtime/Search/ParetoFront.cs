namespace NeuroPlugin.Search;

/// <summary>
/// The Pareto front of trained candidates: those no other candidate dominates, where a dominates b when a is at least as
/// accurate, at most as slow and at most as large (parameters) as b, and strictly better in one of them. Sorted by
/// latency, then parameters, then id.
/// </summary>
public static class ParetoFront
{
    /// <summary>The front over accuracy (higher is better), measured latency and parameters (lower is better).</summary>
    public static IReadOnlyList<SearchCandidate> Of(IEnumerable<SearchCandidate> candidates) =>
        Of(candidates, c => [c.LatencyMilliseconds, c.Parameters]);

    /// <summary>The front over accuracy and the given costs (each lower is better); only trained candidates take part.</summary>
    public static IReadOnlyList<SearchCandidate> Of(IEnumerable<SearchCandidate> candidates, Func<SearchCandidate, double[]> costs)
    {
        var trained = candidates.Where(c => c.Status == CandidateStatus.Trained).Select(c => (Candidate: c, Costs: costs(c))).ToArray();
        return trained
            .Where(b => !trained.Any(a => Dominates(a.Candidate.Accuracy!.Value, a.Costs, b.Candidate.Accuracy!.Value, b.Costs)))
            .Select(b => b.Candidate)
            .OrderBy(c => c.LatencyMilliseconds).ThenBy(c => c.Parameters).ThenBy(c => c.Id)
            .ToArray();
    }

    static bool Dominates(double accuracyA, double[] costsA, double accuracyB, double[] costsB)
    {
        if (accuracyA < accuracyB) return false;
        bool better = accuracyA > accuracyB;
        for (int i = 0; i < costsA.Length; i++)
        {
            if (costsA[i] > costsB[i]) return false;
            better |= costsA[i] < costsB[i];
        }
        return better;
    }
}
