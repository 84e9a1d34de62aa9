using NeuroPlugin.Training;
using ScottPlot;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>Learning over one window of game time: how often the network named the nearest shape's kind right
/// (per frame whose prediction came back), how often the player reacted right (per shape that reached the
/// player), how many training steps ran, and the frame times of the window.</summary>
public sealed class Window(float start, float end)
{
    public float Start { get; } = start;
    public float End { get; } = end;
    public int Predictions { get; set; }
    public int CorrectPredictions { get; set; }
    public int Reactions { get; set; }
    public int CorrectReactions { get; set; }
    public long TrainingSteps { get; set; }
    public double PredictionAccuracy => Predictions == 0 ? double.NaN : (double)CorrectPredictions / Predictions;
    public double ReactionAccuracy => Reactions == 0 ? double.NaN : (double)CorrectReactions / Reactions;
}

/// <summary>A frame saved for the strip: the screen's pixels (RGBA, rows bottom-up, <paramref name="Size"/>²), where the
/// nearest shape was (world units), what it was and what the network said (null until the prediction came back).</summary>
public sealed record CapturedFrame(int Frame, byte[] Rgba, int Size, float X, float Y, ShapeKind Truth, ShapeKind? Predicted);

/// <summary>The run's outputs: the console table, frame-time percentiles, the budget figures, the learning chart, the
/// budget chart and the frame strip (PNG, ScottPlot).</summary>
public static class Report
{
    /// <summary>Prints one row per window: game time, prediction and reaction accuracy, training steps.</summary>
    public static void PrintTable(IReadOnlyList<Window> windows)
    {
        Console.WriteLine("| game time (s) | predictions right | reactions right | training steps |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var w in windows)
            Console.WriteLine($"| {w.Start,5:0.0}–{w.End,5:0.0} | {Percent(w.PredictionAccuracy),6} ({w.CorrectPredictions}/{w.Predictions}) | " +
                              $"{Percent(w.ReactionAccuracy),6} ({w.CorrectReactions}/{w.Reactions}) | {w.TrainingSteps} |");
    }

    static string Percent(double value) => double.IsNaN(value) ? "–" : $"{100 * value:0.0} %";

    /// <summary>The <paramref name="p"/>-th percentile (0–100) of <paramref name="sorted"/> (ascending), by linear
    /// interpolation between closest ranks (NumPy's default).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        double rank = p / 100 * (sorted.Count - 1);
        int below = (int)Math.Floor(rank), above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>Writes accuracy over game time: predictions and reactions per window, with chance (1/4) for reference.</summary>
    public static void SaveLearningChart(IReadOnlyList<Window> windows, string path, string title)
    {
        var plot = new Plot();
        double[] middle = windows.Select(w => (w.Start + w.End) / 2.0).ToArray();
        AddLine(plot, middle, windows.Select(w => 100 * w.PredictionAccuracy).ToArray(), "network's prediction of the nearest shape", Colors.C0);
        AddLine(plot, middle, windows.Select(w => 100 * w.ReactionAccuracy).ToArray(), "player's reaction when it arrives", Colors.C1);
        var chance = plot.Add.HorizontalLine(100.0 / Enum.GetValues<ShapeKind>().Length, 1.5f, Colors.Gray, LinePattern.Dashed);
        chance.LegendText = "chance";
        plot.Axes.SetLimitsY(0, 105);
        plot.Title(title, size: 15);
        plot.XLabel("game time (s)", size: 13);
        plot.YLabel("right (%)", size: 13);
        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = Alignment.LowerRight;
        plot.SavePng(path, 800, 450);
    }

    static void AddLine(Plot plot, double[] xs, double[] ys, string label, Color color)
    {
        var points = xs.Zip(ys).Where(p => double.IsFinite(p.Second)).ToArray();
        if (points.Length == 0) return;
        var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 4;
    }

    /// <summary>Frames at the start of the budgeted work (its first second at 60 frames/s) counted apart: warm-up, shader
    /// compiles and first measurements.</summary>
    public const int WarmUpFrames = 60;

    /// <summary>Prints the budget figures of per-frame work times (ms; frames that ran none, before the work started, are
    /// left out): mean, percentiles and the frames over the budget by more than 1 ms, with those of the first
    /// <paramref name="warmUpFrames"/> frames counted apart.</summary>
    public static void PrintBudgetFigures(string what, IReadOnlyList<double> times, double budget, int warmUpFrames = WarmUpFrames)
    {
        var worked = times.SkipWhile(t => t == 0).ToArray();
        var sorted = worked.Order().ToArray();
        int over = worked.Count(t => t > budget + 1), overInWarmUp = worked.Take(warmUpFrames).Count(t => t > budget + 1);
        Console.WriteLine($"{what} time per frame (ms): mean {(worked.Length == 0 ? double.NaN : worked.Average()):0.00}, p50 {Percentile(sorted, 50):0.00}, p99 {Percentile(sorted, 99):0.00}, " +
            $"p99.9 {Percentile(sorted, 99.9):0.00}, max {(sorted.Length == 0 ? double.NaN : sorted[^1]):0.00} against a {budget:0.##} ms budget");
        Console.WriteLine($"over budget by > 1 ms: {over} of {worked.Length} frames ({(worked.Length == 0 ? 0 : 100.0 * over / worked.Length):0.00} %; " +
            $"{overInWarmUp} of them in the first {warmUpFrames}, the warm-up)");
    }

    /// <summary>Writes one CSV row per frame: its time and its training call's (ms), and the budgeted trainer's report for
    /// it (the summed estimates and the host time of the items it ran, the items, the steps it finished). A frame over
    /// the budget reads as planned over it (estimate above the budget) or run over it (host time above the estimate).</summary>
    public static void SaveFrameLog(string path, IReadOnlyList<double> frameTimes, IReadOnlyList<double> trainingTimes, IReadOnlyList<FrameReport> reports)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("frame,frame_ms,training_ms,budget_ms,estimated_ms,host_ms,items,steps");
        for (int i = 0; i < frameTimes.Count; i++)
        {
            var r = reports[i];
            writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{i + 1},{frameTimes[i]:0.###},{trainingTimes[i]:0.###},{r.Budget.TotalMilliseconds:0.###},{r.EstimatedTime.TotalMilliseconds:0.###},{r.HostTime.TotalMilliseconds:0.###},{r.Stages},{r.StepsCompleted}"));
        }
    }

    /// <summary>
    /// How well the training budget was used, in figures that hold on a loaded machine: the share of the frames' budget
    /// spent in the training call, the steps per second of that time (the work's own speed, overheads included), the
    /// utilisation <c>steps × estimated step time / (frames × budget)</c>, and the items (runs of a stage's host code)
    /// per step. <paramref name="times"/> are the frames' training times (ms), 0 before training started.
    /// </summary>
    public static void PrintThroughput(IReadOnlyList<double> times, double budget, long steps, double estimatedStep, long calls)
    {
        var worked = times.SkipWhile(t => t == 0).ToArray();
        double spent = worked.Sum(), allowed = worked.Length * budget;
        Console.WriteLine($"training throughput: {steps} steps in {worked.Length} frames; time spent {100 * spent / allowed:0.0} % of frames × budget; " +
            $"{steps / (spent / 1000):0.00} steps per second of training time; utilisation {100 * steps * estimatedStep / allowed:0.0} % " +
            $"(steps × estimated step time / frames × budget); {(steps == 0 ? 0 : (double)calls / steps):0.0} calls per step");
    }

    /// <summary>Writes per-frame work time (ms) against frame number, with the budget and the budget + 1 ms drawn across;
    /// the y axis stops at 4× the budget (or the p99.9 if higher), and the title counts the frames above it.</summary>
    public static void SaveBudgetChart(IReadOnlyList<double> times, double budget, string what, string path, string title)
    {
        var plot = new Plot();
        double[] frames = Enumerable.Range(1, times.Count).Select(f => (double)f).ToArray();
        var points = plot.Add.ScatterPoints(frames, times.ToArray(), Colors.C0);
        points.MarkerSize = 2;
        points.LegendText = $"{what} time of the frame";
        var line = plot.Add.HorizontalLine(budget, 1.5f, Colors.DarkGreen);
        line.LegendText = $"budget {budget:0.##} ms";
        var margin = plot.Add.HorizontalLine(budget + 1, 1f, Colors.Red, LinePattern.Dashed);
        margin.LegendText = "budget + 1 ms";
        double top = Math.Max(4 * budget, Percentile(times.Order().ToArray(), 99.9) * 1.1);
        int above = times.Count(t => t > top);
        plot.Axes.SetLimits(0, times.Count + 1, 0, top);
        plot.Title(above == 0 ? title : $"{title}\n({above} frames above {top:0.#} ms not shown)", size: 14);
        plot.XLabel("frame", size: 13);
        plot.YLabel($"{what} time (ms)", size: 13);
        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.SavePng(path, 900, 450);
    }

    /// <summary>Width and height in pixels of one panel of the strip.</summary>
    public const int PanelWidth = 240, PanelHeight = 300;

    /// <summary>Writes the frames side by side, each with a box around the nearest shape and a title saying what the
    /// network predicted and what the shape was (green when right, red when wrong or not yet known).</summary>
    public static void SaveFrameStrip(IReadOnlyList<CapturedFrame> frames, string path)
    {
        var figure = new Multiplot();
        figure.AddPlots(frames.Count);
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid(1, frames.Count);
        var panels = figure.GetPlots();
        for (int k = 0; k < frames.Count; k++)
        {
            var frame = frames[k];
            var plot = panels[k];
            plot.Add.ImageRect(ToImage(frame), new CoordinateRect(0, 1, 0, 1));
            float half = Renderer.EyeExtent / 2;
            bool right = frame.Predicted == frame.Truth;
            var box = plot.Add.Rectangle(frame.X - half, frame.X + half, frame.Y - half, frame.Y + half);
            box.FillStyle.Color = Colors.Transparent;
            box.LineColor = right ? Colors.LimeGreen : Colors.Red;
            box.LineWidth = 2;
            string said = frame.Predicted?.ToString().ToLowerInvariant() ?? "(none yet)";
            plot.Title($"frame {frame.Frame} (t = {frame.Frame * Game.TimeStep:0.0} s)\nnetwork: {said}\ntruth: {frame.Truth.ToString().ToLowerInvariant()}", size: 12);
            plot.Axes.Title.Label.ForeColor = right ? Colors.DarkGreen : Colors.DarkRed;
            plot.Axes.SetLimits(0, 1, 0, 1);
            plot.Axes.SquareUnits();
            plot.DataBackground.Color = Color.FromHex("#0F121A"); // the game's clear colour, so margins blend in
            plot.HideGrid();
            foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left, plot.Axes.Right, plot.Axes.Top })
            {
                axis.TickLabelStyle.IsVisible = false;
                axis.MajorTickStyle.Length = 0;
                axis.MinorTickStyle.Length = 0;
            }
        }
        figure.SavePng(path, PanelWidth * frames.Count, PanelHeight);
    }

    /// <summary>GL rows run bottom-up; ScottPlot's images top-down.</summary>
    static Image ToImage(CapturedFrame frame)
    {
        int size = frame.Size;
        var pixels = new byte[size, size, 4];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 4; c++)
                    pixels[y, x, c] = frame.Rgba[((size - 1 - y) * size + x) * 4 + c];
        return new Image(pixels);
    }
}
