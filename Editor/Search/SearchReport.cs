using System.Globalization;
using System.Text;
using NeuroPlugin.Backends;
using NeuroPlugin.Editor.Experiments;
using NeuroPlugin.Search;
using ScottPlot;

namespace NeuroPlugin.Editor.Search;

/// <summary>
/// A finished (or stopped) search's results in its folder: <c>pareto.png</c> (validation accuracy against measured
/// latency and against parameters; every trained candidate grey, the front in colour), <c>front.md</c> (the front as a
/// table with the chart and the command), <c>front.csv</c> and <c>candidates.csv</c> (every candidate). The front's
/// model files are the search's own (<see cref="ArchitectureSearch.FrontFolder"/>).
/// </summary>
internal static class SearchReport
{
    static readonly string[] Columns = ["id", "parent", "change", "status", "accuracy", "latency_ms", "parameters", "flops", "epochs", "train_seconds", "genome", "model"];

    /// <summary>Writes the chart, the markdown table and both CSV tables; returns their paths.</summary>
    public static IReadOnlyList<string> Write(string folder, SearchSettings settings, SearchResult result, IBackend backend, string command)
    {
        string chart = Chart(Path.Combine(folder, "pareto.png"), settings, result, backend);
        string frontCsv = Csv(Path.Combine(folder, "front.csv"), result.Front);
        string allCsv = Csv(Path.Combine(folder, "candidates.csv"), result.Candidates);
        string markdown = Markdown(Path.Combine(folder, "front.md"), settings, result, backend, command, chart);
        return [chart, markdown, frontCsv, allCsv];
    }

    static string Chart(string path, SearchSettings settings, SearchResult result, IBackend backend)
    {
        var trained = result.Candidates.Where(c => c.Status == CandidateStatus.Trained).ToArray();
        var (figure, panels) = Charts.Grid(1, 2);
        Panel(panels[0], trained, result.Front, c => c.LatencyMilliseconds, $"latency, batch 1, {backend.Name} (ms)", settings.MaxMilliseconds);
        Panel(panels[1], trained, result.Front, c => c.Parameters, "parameters", settings.MaxParameters);
        Charts.Label(panels[0], $"Search, seed {settings.Seed}: accuracy vs measured latency", $"latency, batch 1, {backend.Name} (ms)", "validation accuracy (%)");
        Charts.Label(panels[1], $"{trained.Length} trained candidates: accuracy vs parameters", "parameters", "validation accuracy (%)");
        return Charts.Save(figure, path, 1400, 560);
    }

    static void Panel(Plot plot, SearchCandidate[] trained, IReadOnlyList<SearchCandidate> front, Func<SearchCandidate, double> cost, string label, double? limit)
    {
        if (trained.Length > 0)
        {
            var all = plot.Add.Scatter(trained.Select(cost).ToArray(), trained.Select(c => 100 * c.Accuracy!.Value).ToArray(), Colors.Gray.WithOpacity(.6));
            all.LineWidth = 0;
            all.MarkerSize = 6;
            all.LegendText = "candidates";
        }
        // the front as a staircase in this panel's cost: the best accuracy reachable at each cost
        var staircase = front.OrderBy(cost).ToArray();
        if (staircase.Length > 0)
        {
            var line = plot.Add.Scatter(staircase.Select(cost).ToArray(), staircase.Select(c => 100 * c.Accuracy!.Value).ToArray(), Charts.Color(0));
            line.LineWidth = 0;
            line.MarkerSize = 10;
            line.LegendText = "Pareto front (accuracy, latency, parameters)";
            foreach (var c in staircase)
            {
                var text = plot.Add.Text($"#{c.Id}", cost(c), 100 * c.Accuracy!.Value);
                text.LabelFontSize = 10;
                text.LabelOffsetX = 6;
            }
        }
        if (limit is double most)
        {
            var bound = plot.Add.VerticalLine(most, 1.5f, Charts.Color(3), LinePattern.Dashed);
            bound.LegendText = $"limit ({label})";
        }
        Charts.Legend(plot, Alignment.LowerRight);
    }

    static string Csv(string path, IEnumerable<SearchCandidate> candidates)
    {
        var text = new StringBuilder().AppendLine(string.Join(",", Columns));
        foreach (var c in candidates)
            text.AppendLine(string.Join(",", Row(c).Select(Quote)));
        File.WriteAllText(path, text.ToString());
        return path;
    }

    static string[] Row(SearchCandidate c) =>
    [
        c.Id.ToString(CultureInfo.InvariantCulture), c.ParentId?.ToString(CultureInfo.InvariantCulture) ?? "", c.Change,
        c.Status == CandidateStatus.Trained ? "trained" : "over-latency", c.Accuracy?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "",
        c.LatencyMilliseconds.ToString("0.0000", CultureInfo.InvariantCulture), c.Parameters.ToString(CultureInfo.InvariantCulture),
        c.Flops.ToString(CultureInfo.InvariantCulture), c.Epochs.ToString(CultureInfo.InvariantCulture),
        c.TrainSeconds.ToString("0.0", CultureInfo.InvariantCulture), c.Genome.ToString(), c.Model?.Replace('\\', '/') ?? "",
    ];

    /// <summary>RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled.</summary>
    static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;

    static string Markdown(string path, SearchSettings settings, SearchResult result, IBackend backend, string command, string chart)
    {
        int trained = result.Candidates.Count(c => c.Status == CandidateStatus.Trained);
        var limits = new[]
        {
            settings.MaxParameters is long p ? $"at most {p:N0} parameters" : null,
            settings.MaxFlops is long f ? $"at most {f:N0} FLOPs" : null,
            settings.MaxMilliseconds is double ms ? $"at most {ms} ms" : null,
        }.Where(s => s is not null).ToArray();
        var report = new MarkdownReport()
            .Heading("Architecture search: Pareto front")
            .Paragraph($"`{command}`")
            .Paragraph($"Regularized evolution (population {settings.Population}, tournament {settings.SampleSize}), seed {settings.Seed}, on {settings.Dataset}: " +
                       $"{result.Candidates.Count} candidates ({trained} trained{(result.Resumed > 0 ? $", {result.Resumed} of them from before a resume" : "")}), " +
                       $"{(limits.Length > 0 ? string.Join(", ", limits) : "no constraints")}. Each trained for up to {settings.Epochs} epoch(s) on " +
                       $"{settings.TrainImages:N0} images (early stop after {settings.Patience} without improvement) and ranked on {settings.ValidationImages:N0} held-out " +
                       $"training images. Latency: median of {ArchitectureCost.TimedRuns} batch-1 inferences on {backend.Name} ({backend.DeviceName}).")
            .Image("Pareto front", chart)
            .Table(["candidate", "validation accuracy", "latency (ms)", "parameters", "FLOPs", "architecture", "model"],
                result.Front.Select(c => (IReadOnlyList<string>)
                [
                    $"#{c.Id}", (100 * c.Accuracy!.Value).ToString("0.00", CultureInfo.InvariantCulture) + " %",
                    c.LatencyMilliseconds.ToString("0.000", CultureInfo.InvariantCulture), c.Parameters.ToString("N0", CultureInfo.InvariantCulture),
                    c.Flops.ToString("N0", CultureInfo.InvariantCulture), c.Genome.ToString(), $"{ArchitectureSearch.FrontFolder}/{Path.GetFileName(c.Model)}",
                ]))
            .Paragraph($"The models sit in `{ArchitectureSearch.FrontFolder}/` with their provenance; `neuro train --model {ArchitectureSearch.FrontFolder}/cNNNN.neuro` " +
                       "trains one from scratch with fresh weights and any recipe.");
        return report.Save(path);
    }
}
