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

/// <summary>The run's outputs: the console table, frame-time percentiles, the learning chart and the frame strip (PNG, ScottPlot).</summary>
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
