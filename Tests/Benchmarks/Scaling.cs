using System.Globalization;
using ScottPlot;

namespace NeuroPlugin.Benchmarks;

/// <summary>
/// <c>neuro-bench scaling [model] [train|infer] [seconds] [chart.png]</c>: throughput curves, images/s against the batch
/// size (1, 2, 4 … 256) at every thread count from 1 to the processor count, ours and the peers (PyTorch; for inference
/// ONNX Runtime too) side by side. As in <see cref="Table"/>, each figure is the median iteration of a timed stretch and the
/// frameworks are measured interleaved, the order rotating from one point to the next, so that a busy spell of the
/// machine hits them alike. Prints a markdown table (a row per batch, a column per framework and thread count) and writes
/// the chart: images/s against the batch (log scale), and images/s against the thread count at batch 1 and at the
/// largest batch.
/// </summary>
static class Scaling
{
    static readonly int[] Batches = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    public static int Run(string[] args)
    {
        string model = args.Length > 0 ? args[0] : "lenet5";
        bool training = args.Length <= 1 || args[1] switch
        {
            "train" => true,
            "infer" => false,
            _ => throw new ArgumentException($"mode '{args[1]}': train or infer"),
        };
        double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 0.5;
        string chart = args.Length > 3 ? args[3] : $"scaling-{model}-{(training ? "train" : "infer")}.png";
        int[] threads = [.. Enumerable.Range(1, Environment.ProcessorCount)];

        using var torch = new PyTorchPeer();
        var names = new List<string>();
        // imagesPerSecond[runner name][thread index][batch index]
        var imagesPerSecond = new Dictionary<string, double[][]>();
        for (int b = 0; b < Batches.Length; b++)
        {
            // a batch's plans and sessions live only while it is measured (ResNet's at batch 256 are hundreds of MB)
            using var ours = new OursRunner();
            using var onnx = new OnnxRuntimePeer();
            IRunner[] runners = [ours, onnx, torch];
            for (int t = 0; t < threads.Length; t++)
                for (int turn = 0; turn < runners.Length; turn++)
                {
                    var runner = runners[(turn + b + t) % runners.Length];
                    var workload = new Workload(model, training, Batches[b], threads[t]);
                    if (!runner.Supports(workload)) continue;
                    if (!imagesPerSecond.TryGetValue(runner.Name, out var figures))
                    {
                        names.Add(runner.Name);
                        imagesPerSecond[runner.Name] = figures = [.. threads.Select(_ => Enumerable.Repeat(double.NaN, Batches.Length).ToArray())];
                    }
                    figures[t][b] = Batches[b] / runner.Measure(workload, seconds).Median;
                    Console.Error.WriteLine($"{runner.Name}, {workload}: {figures[t][b]:N0} images/s");
                }
        }

        var columns = names.SelectMany(name => threads.Select((count, t) => (Name: name, Threads: count, Index: t))).ToArray();
        Console.WriteLine($"| batch | {string.Join(" | ", columns.Select(c => $"{c.Name}, {c.Threads} thr."))} |");
        Console.WriteLine($"| --- |{string.Concat(columns.Select(_ => " --- |"))}");
        for (int b = 0; b < Batches.Length; b++)
            Console.WriteLine($"| {Batches[b]} | {string.Join(" | ", columns.Select(c => $"{imagesPerSecond[c.Name][c.Index][b]:N0}"))} |");
        SaveChart(chart, $"{model} {(training ? "training" : "inference")}, images/s", names, threads, imagesPerSecond);
        Console.WriteLine($"\nchart: {Path.GetFullPath(chart)}");
        return 0;
    }

    /// <summary>Two panels: images/s against the batch (ticks at the powers of two, log scale) per framework and thread
    /// count; images/s against the thread count per framework at batch 1 and at the largest batch.</summary>
    static void SaveChart(string path, string title, List<string> names, int[] threads, Dictionary<string, double[][]> imagesPerSecond)
    {
        var figure = new Multiplot();
        figure.AddPlots(2);
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid(1, 2);
        var (byBatch, byThreads) = (figure.GetPlot(0), figure.GetPlot(1));
        var batchTicks = new ScottPlot.TickGenerators.NumericManual();
        foreach (int batch in Batches) batchTicks.AddMajor(Math.Log2(batch), batch.ToString(CultureInfo.InvariantCulture));
        byBatch.Axes.Bottom.TickGenerator = batchTicks;
        var threadTicks = new ScottPlot.TickGenerators.NumericManual();
        foreach (int count in threads) threadTicks.AddMajor(count, count.ToString(CultureInfo.InvariantCulture));
        byThreads.Axes.Bottom.TickGenerator = threadTicks;

        var palette = new ScottPlot.Palettes.Category10();
        int series = 0;
        foreach (string name in names)
            for (int t = 0; t < threads.Length; t++)
                AddLine(byBatch, [.. Batches.Select(b => Math.Log2(b))], imagesPerSecond[name][t], $"{name}, {threads[t]} thr.",
                    palette.GetColor(series++), t == 0 ? LinePattern.Dashed : LinePattern.Solid);
        series = 0;
        foreach (string name in names)
            foreach (int b in new[] { 0, Batches.Length - 1 })
                AddLine(byThreads, [.. threads.Select(count => (double)count)], [.. threads.Select((_, t) => imagesPerSecond[name][t][b])],
                    $"{name}, batch {Batches[b]}", palette.GetColor(series++), b == 0 ? LinePattern.Dashed : LinePattern.Solid);

        byBatch.Title(title, size: 14);
        byBatch.XLabel("batch size (log scale)", size: 13);
        byBatch.YLabel("images/s", size: 13);
        byThreads.Title("against threads", size: 14);
        byThreads.XLabel("threads", size: 13);
        byThreads.YLabel("images/s", size: 13);
        foreach (var plot in new[] { byBatch, byThreads })
        {
            plot.Axes.Margins(bottom: 0);
            plot.Legend.IsVisible = true;
            plot.Legend.Alignment = Alignment.UpperLeft;
        }
        figure.SavePng(path, 1400, 550);
    }

    static void AddLine(Plot plot, double[] xs, double[] ys, string label, Color color, LinePattern pattern)
    {
        var points = xs.Zip(ys).Where(p => double.IsFinite(p.Second)).ToArray();
        if (points.Length == 0) return;
        var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 5;
        line.LinePattern = pattern;
    }
}
