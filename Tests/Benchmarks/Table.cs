using System.Globalization;

namespace NeuroPlugin.Benchmarks;

/// <summary>
/// <c>neuro-bench table [repeats] [seconds] [model]</c>: the issue's targets in one table — batch-1 inference of LeNet-5,
/// ResNet-18 and MobileNet v2 (224×224) against ONNX Runtime, and batch-64 training of LeNet-5 and ResNet-20 against
/// PyTorch — with PyTorch's inference for reference. Each framework runs at its best thread count (1 and 2 are both
/// measured; the faster counts). The machine is shared, so the frameworks are measured interleaved (the order rotates
/// from one repeat to the next), each figure is the median iteration of a timed stretch, a ratio is taken inside one
/// repeat, and the table gives the range of each over the repeats. A model name keeps only its rows.
/// </summary>
static class Table
{
    static readonly (string Model, bool Training, int Batch)[] AllRows =
    [
        ("lenet5", false, 1), ("resnet18", false, 1), ("mobilenet_v2", false, 1),
        ("lenet5", true, 64), ("resnet_cifar", true, 64),
    ];

    static readonly int[] ThreadCounts = [1, 2];

    public static int Run(string[] args)
    {
        int repeats = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.5;
        var rows = args.Length > 2 ? AllRows.Where(r => r.Model == args[2]).ToArray() : AllRows;
        using var ours = new OursRunner();
        using var onnx = new OnnxRuntimePeer();
        using var torch = new PyTorchPeer();
        IRunner[] runners = [ours, onnx, torch];
        // results[row][runner][repeat]: the best median over thread counts, and the thread count that gave it
        var results = rows.Select(_ => runners.Select(_ => new List<(double Seconds, int Threads)>()).ToArray()).ToArray();
        for (int repeat = 0; repeat < repeats; repeat++)
            for (int row = 0; row < rows.Length; row++)
                for (int turn = 0; turn < runners.Length; turn++)
                {
                    int r = (turn + repeat + row) % runners.Length;
                    var (model, training, batch) = rows[row];
                    if (!runners[r].Supports(new Workload(model, training, batch, 1))) continue;
                    var measured = ThreadCounts.Select(t => (runners[r].Measure(new Workload(model, training, batch, t), seconds).Median, t)).ToArray();
                    var best = measured.MinBy(m => m.Median);
                    results[row][r].Add(best);
                    // every thread count's figure, so the log shows how each framework scales
                    string each = string.Join(", ", measured.Select(m => $"{m.t} thr. {Format(m.Median, training, batch)}"));
                    Console.Error.WriteLine($"repeat {repeat + 1}/{repeats}: {runners[r].Name}, {new Workload(model, training, batch, best.t)}: {Format(best.Median, training, batch)} ({each})");
                }

        Console.WriteLine($"| work | {ours.Name} | {onnx.Name} | {torch.Name} | ours vs peer (range over {repeats} repeats) |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        for (int row = 0; row < rows.Length; row++)
        {
            var (model, training, batch) = rows[row];
            int peer = training ? 2 : 1;
            var ratios = Enumerable.Range(0, repeats).Select(i => training
                ? results[row][peer][i].Seconds / results[row][0][i].Seconds     // images/s ours ÷ images/s peer
                : results[row][0][i].Seconds / results[row][peer][i].Seconds).ToArray(); // latency ours ÷ latency peer
            string what = training ? $"{model} training, batch {batch} (images/s)" : $"{model} inference, batch {batch} (latency)";
            string verdict = training ? "speed" : "latency";
            Console.WriteLine($"| {what} | {Cell(results[row][0], training, batch)} | {(training ? "—" : Cell(results[row][1], training, batch))} " +
                $"| {Cell(results[row][2], training, batch)} | {verdict} {ratios.Min():F2}–{ratios.Max():F2}× {runners[peer].Name.Split(' ')[0]}'s |");
        }
        foreach (var (model, error) in onnx.Agreement)
            Console.WriteLine($"\n{model}: logits agree with ONNX Runtime's to {error:E1} of the largest logit (same weights, same images)");
        return 0;
    }

    /// <summary>The range of a runner's figures over the repeats, with the thread counts that gave them.</summary>
    static string Cell(List<(double Seconds, int Threads)> figures, bool training, int batch)
    {
        if (figures.Count == 0) return "—";
        var values = figures.Select(f => training ? batch / f.Seconds : f.Seconds).Order().ToArray();
        string threads = string.Join("/", figures.Select(f => f.Threads).Distinct().Order());
        string range = training ? $"{values[0]:N0}–{values[^1]:N0}" : $"{Latency(values[0])}–{Latency(values[^1])}";
        return $"{range} ({threads} thr.)";
    }

    static string Format(double seconds, bool training, int batch) => training ? $"{batch / seconds:N0} images/s" : Latency(seconds);

    static string Latency(double seconds) => seconds < 1e-3 ? $"{seconds * 1e6:F0} µs" : $"{seconds * 1e3:F1} ms";
}
