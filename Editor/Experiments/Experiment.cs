using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// One of the course's claims turned into a measurement: trains small networks on Fashion-MNIST, writes
/// PNG charts and a markdown report (tables of the measured numbers and a conclusion computed from them)
/// into <see cref="ExperimentContext.OutputFolder"/>. Full runs take at most about two minutes on the CPU
/// backend; <see cref="ExperimentContext.Quick"/> runs a much smaller version (seconds) for the tests.
/// </summary>
internal abstract class Experiment(string name, string summary)
{
    /// <summary>The command-line name (<c>vanishing-gradients</c>); also the stem of the output files.</summary>
    public string Name { get; } = name;

    /// <summary>One line: what the experiment compares and what it shows.</summary>
    public string Summary { get; } = summary;

    /// <summary>Runs the experiment and writes its files: the charts <see cref="Measure"/> draws, then the report it
    /// returns, ended by the conclusions, as <c>{Name}.md</c>.</summary>
    public ExperimentResult Run(ExperimentContext context)
    {
        var result = new ExperimentResult(Name);
        var report = Measure(context, result);
        result.Files.Add(report.Conclusions(result.Conclusions).Save(context.OutputPath($"{Name}.md")));
        return result;
    }

    /// <summary>Trains and measures: records the metrics and conclusions in <paramref name="result"/>, writes the charts
    /// (<see cref="SaveChart"/>) and returns the report's text up to its conclusions.</summary>
    protected abstract MarkdownReport Measure(ExperimentContext context, ExperimentResult result);

    /// <summary>Saves <paramref name="figure"/> as <c>{Name}{suffix}.png</c> of the given size, lists it in <paramref name="result"/>'s
    /// files and returns its path.</summary>
    protected string SaveChart(ExperimentContext context, ExperimentResult result, Multiplot figure, int width, int height, string suffix = "")
    {
        string path = Charts.Save(figure, context.OutputPath($"{Name}{suffix}.png"), width, height);
        result.Files.Add(path);
        return path;
    }
}

/// <summary>The experiments <c>neuro experiment</c> knows, by name, in the course's order.</summary>
internal static class ExperimentCatalog
{
    public static IReadOnlyList<Experiment> All { get; } =
    [
        new VanishingGradientsExperiment(),
        new InitializationExperiment(),
        new BatchNormExperiment(),
        new OptimizersExperiment(),
        new OverfittingExperiment(),
        new FcVsCnnExperiment(),
        new DepthExperiment(),
        new RegularizersExperiment(),
        new EfficientBlocksExperiment(),
    ];

    /// <summary>The experiment called <paramref name="name"/>, or null.</summary>
    public static Experiment? Find(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// What an experiment runs with: the backend, the seed, full or quick size, where to write, and the data
/// (Fashion-MNIST, loaded once and cut into the subsets each experiment asks for).
/// </summary>
internal sealed class ExperimentContext(IBackend backend, string outputFolder, int seed, bool quick, string? dataFolder, TextWriter log)
{
    ImageDataset? train, test;

    public IBackend Backend { get; } = backend;
    /// <summary>Folder the PNGs and the markdown report go to (created on first write).</summary>
    public string OutputFolder { get; } = outputFolder;
    /// <summary>Seed of every initialization, shuffle and dropout mask: the same seed gives the same numbers.</summary>
    public int Seed { get; } = seed;
    /// <summary>A much smaller run (seconds) for tests; the conclusions still come from its own numbers.</summary>
    public bool Quick { get; } = quick;
    /// <summary>Progress lines (one per trained configuration).</summary>
    public TextWriter Log { get; } = log;

    /// <summary>The first <paramref name="count"/> Fashion-MNIST training images.</summary>
    public ImageDataset TrainSubset(int count) => (train ??= FashionMnist.LoadTrain(dataFolder)).Take(count);

    /// <summary>The first <paramref name="count"/> Fashion-MNIST test images.</summary>
    public ImageDataset TestSubset(int count) => (test ??= FashionMnist.LoadTest(dataFolder)).Take(count);

    /// <summary>The first <paramref name="train"/> training images and the first <paramref name="test"/> test images.</summary>
    public (ImageDataset Train, ImageDataset Test) Subsets(int train, int test) => (TrainSubset(train), TestSubset(test));

    /// <summary>The first <paramref name="train"/> training images, the first <paramref name="test"/> test images, and the first
    /// <paramref name="trainEvaluation"/> of those training images (all of them where there are fewer), on which an experiment
    /// measures the training loss and accuracy.</summary>
    public (ImageDataset Train, ImageDataset Test, ImageDataset TrainEvaluation) Subsets(int train, int test, int trainEvaluation)
    {
        var trainSubset = TrainSubset(train);
        return (trainSubset, TestSubset(test), trainSubset.Take(Math.Min(trainSubset.Count, trainEvaluation)));
    }

    /// <summary><paramref name="full"/> for a full run, <paramref name="quick"/> with <c>--quick</c>.</summary>
    public int Size(int full, int quick) => Quick ? quick : full;

    /// <summary>The path of an output file, creating the folder.</summary>
    public string OutputPath(string fileName)
    {
        Directory.CreateDirectory(OutputFolder);
        return Path.Combine(OutputFolder, fileName);
    }
}

/// <summary>
/// What a run produced: the files written, the conclusions, and the key numbers by name (for the tests
/// and the command's summary), e.g. <c>sigmoid.fc1.gradient_norm</c>.
/// </summary>
internal sealed class ExperimentResult(string name)
{
    public string Name { get; } = name;
    public List<string> Files { get; } = [];
    public List<Conclusion> Conclusions { get; } = [];
    public Dictionary<string, double> Metrics { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A claim of the course checked against measured numbers: <paramref name="Agrees"/> is computed from them,
/// <paramref name="Evidence"/> states the numbers and the threshold the decision used.
/// </summary>
internal sealed record Conclusion(string Claim, bool Agrees, string Evidence)
{
    /// <summary>One markdown line: verdict, claim, evidence.</summary>
    public override string ToString() =>
        $"{(Agrees ? "**Agrees with the course**" : "**Does not agree with the course**")}: {Claim} Measured: {Evidence}";
}
