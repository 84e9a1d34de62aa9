using System.Globalization;
using System.Text.RegularExpressions;

namespace NeuroPlugin.Tests.Samples;

/// <summary>The lines Samples/InGameLearning prints that tests read (Program.cs writes them): the live link's URL, the
/// frame-time percentiles and the frames over the frame budget. Shared with NeuroPlugin.Editor.Tests.</summary>
public static class InGameLearningReport
{
    static readonly Regex LinkLine = new(@"^live link: (http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}) ");
    static readonly Regex FrameTimesLine = new(@"^frame time \(ms\): p50 ([\d.]+), p95 ([\d.]+), p99 ([\d.]+), max ([\d.]+)$");
    static readonly Regex OverBudgetLine = new(@"^frames over the ([\d.]+) ms frame budget: (\d+) of (\d+) ");

    /// <summary>The live link's URL with its token, from the line <c>live link: URL (…)</c>; null for another line.</summary>
    public static string? LinkUrl(string line) => LinkLine.Match(line) is { Success: true } match ? match.Groups[1].Value : null;

    /// <summary>The frame-time percentiles of the report's one <c>frame time (ms): …</c> line.</summary>
    /// <exception cref="InvalidOperationException">No such line, or more than one.</exception>
    public static (double P50, double P95, double P99, double Max) FrameTimes(IEnumerable<string> lines)
    {
        var match = lines.Select(l => FrameTimesLine.Match(l)).Single(m => m.Success);
        return (Number(match, 1), Number(match, 2), Number(match, 3), Number(match, 4));
    }

    /// <summary>The frame budget in milliseconds, the frames over it and all frames, from the report's one
    /// <c>frames over the B ms frame budget: N of M …</c> line.</summary>
    /// <exception cref="InvalidOperationException">No such line, or more than one.</exception>
    public static (double BudgetMilliseconds, int Over, int Frames) OverBudget(IEnumerable<string> lines)
    {
        var match = lines.Select(l => OverBudgetLine.Match(l)).Single(m => m.Success);
        return (Number(match, 1), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture));
    }

    static double Number(Match match, int group) => double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
}
