using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Chart helpers over ScottPlot 5: line series with a legend, log-scaled axes, histograms as bars, panels in a
/// grid, and PNG files. Every chart gets a title, axis labels and a legend; the experiments choose what to plot.
/// </summary>
internal static class Charts
{
    static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    /// <summary>Colour <paramref name="index"/> of the palette (cycles).</summary>
    public static Color Color(int index) => Palette.GetColor(index);

    /// <summary>Sets a plot's title and axis labels (a panel of a grid, or a plot of its own).</summary>
    public static Plot Label(Plot plot, string title, string xLabel, string yLabel)
    {
        plot.Title(title, size: 15);
        plot.XLabel(xLabel, size: 13);
        plot.YLabel(yLabel, size: 13);
        return plot;
    }

    /// <summary>A line through (<paramref name="xs"/>, <paramref name="ys"/>) with small markers, named in the legend.
    /// Non-finite values (a diverged run) are left out rather than breaking the axis limits.</summary>
    public static void Line(Plot plot, IReadOnlyList<double> xs, IReadOnlyList<double> ys, string label, int colorIndex,
        bool dashed = false, float width = 2f)
    {
        var points = xs.Zip(ys).Where(p => double.IsFinite(p.Second)).ToArray();
        if (points.Length == 0) return;
        var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray(), Color(colorIndex));
        line.LegendText = label;
        line.LineWidth = width;
        line.MarkerSize = points.Length <= 40 ? 4 : 0;
        if (dashed) line.LinePattern = LinePattern.Dashed;
    }

    /// <summary>Shows the legend in a corner of the plot.</summary>
    public static void Legend(Plot plot, Alignment where = Alignment.LowerRight, float fontSize = 11)
    {
        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = where;
        plot.Legend.FontSize = fontSize;
    }

    /// <summary>Base-10 logarithm for plotting on a log axis (values ≤ 0 become NaN and are left out).</summary>
    public static double Log10(double value) => value > 0 ? Math.Log10(value) : double.NaN;

    /// <summary>Labels the Y axis of data plotted as <see cref="Log10"/> with powers of ten (10⁻⁴, 10⁻³, …) and log minor ticks.</summary>
    public static void LogY(Plot plot)
    {
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => $"1e{y:0}",
        };
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(.15);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(.05);
        plot.Grid.MinorLineWidth = 1;
    }

    /// <summary>
    /// A histogram of <paramref name="values"/> over [<paramref name="min"/>, <paramref name="max"/>] in
    /// <paramref name="bins"/> equal bins, as bars of the fraction of values in each bin (values outside
    /// the range go to the end bins, so nothing disappears).
    /// </summary>
    public static void Histogram(Plot plot, ReadOnlySpan<float> values, double min, double max, int bins, int colorIndex, string? label = null)
    {
        var counts = new double[bins];
        double width = (max - min) / bins;
        foreach (float v in values)
        {
            if (!float.IsFinite(v)) continue;
            int bin = (int)Math.Floor((v - min) / width);
            counts[Math.Clamp(bin, 0, bins - 1)]++;
        }
        var bars = new List<Bar>(bins);
        for (int b = 0; b < bins; b++)
            bars.Add(new Bar
            {
                Position = min + (b + 0.5) * width,
                Value = counts[b] / Math.Max(1, values.Length),
                Size = width,
                FillColor = Color(colorIndex),
                LineWidth = 0,
            });
        var plottable = plot.Add.Bars(bars);
        if (label is not null) plottable.LegendText = label;
        plot.Axes.Margins(bottom: 0);
    }

    /// <summary>One bar per value (colours by position) with the value printed by <paramref name="format"/> above it and
    /// <paramref name="labels"/> under the bars; a non-finite value draws an empty bar and prints as the format says.</summary>
    public static void Bars(Plot plot, IReadOnlyList<string> labels, IReadOnlyList<double> values, Func<double, string> format)
    {
        for (int i = 0; i < values.Count; i++)
            plot.Add.Bar(new Bar { Position = i, Value = double.IsFinite(values[i]) ? values[i] : 0, FillColor = Color(i), Label = format(values[i]) });
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(labels.Select((label, i) => new Tick(i, label)).ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.15);
        foreach (var bars in plot.GetPlottables<ScottPlot.Plottables.BarPlot>()) bars.ValueLabelStyle.FontSize = 12;
    }

    /// <summary>A multi-panel figure: <paramref name="rows"/> × <paramref name="columns"/> panels, filled row by row.</summary>
    public static (Multiplot Figure, Plot[] Panels) Grid(int rows, int columns)
    {
        var figure = new Multiplot();
        figure.AddPlots(rows * columns);
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        return (figure, figure.GetPlots());
    }

    /// <summary>Writes a PNG and returns its path.</summary>
    public static string Save(Plot plot, string path, int width, int height)
    {
        plot.SavePng(path, width, height);
        return path;
    }

    /// <summary>Writes a multi-panel PNG and returns its path.</summary>
    public static string Save(Multiplot figure, string path, int width, int height)
    {
        figure.SavePng(path, width, height);
        return path;
    }
}
