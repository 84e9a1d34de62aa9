using System.CommandLine;
using System.Diagnostics;
using NeuroPlugin.Editor.Experiments;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro experiment &lt;name&gt;</c>: runs one of the course's experiments (or <c>all</c>) on Fashion-MNIST and writes
/// its PNG charts and markdown report (numbers and a conclusion computed from them) into <c>--out</c>.
/// </summary>
internal static class ExperimentCommand
{
    /// <summary>Where results go unless <c>--out</c> says otherwise (under the git-ignored <c>out/</c>).</summary>
    public const string DefaultOutputFolder = "out/experiments";

    public static Command Create()
    {
        string names = string.Join(", ", ExperimentCatalog.All.Select(e => e.Name));
        var name = new Argument<string>("name") { Description = $"Experiment to run: {names}, or all" };
        var outDir = new Option<string>("--out") { Description = "Folder for the PNG charts and the markdown report", DefaultValueFactory = _ => DefaultOutputFolder };
        var backend = new Option<string>("--backend") { Description = "cpu, gl or auto", DefaultValueFactory = _ => "cpu" };
        var seed = new Option<int>("--seed") { Description = "Seed of initialization, shuffling and dropout", DefaultValueFactory = _ => 1 };
        var quick = new Option<bool>("--quick") { Description = "A much smaller run (seconds), for tests and a first look" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the Fashion-MNIST IDX files" };
        var command = new Command("experiment", "Run a course experiment on Fashion-MNIST; write PNG charts and a markdown report with a measured conclusion")
        {
            name, outDir, backend, seed, quick, dataDir,
        };
        var description = string.Join(Environment.NewLine, ExperimentCatalog.All.Select(e => $"  {e.Name}: {e.Summary}"));
        command.Description += Environment.NewLine + description;
        command.SetAction(parse => Run(parse.GetValue(name)!, parse.GetValue(outDir)!, parse.GetValue(backend)!, parse.GetValue(seed),
            parse.GetValue(quick), parse.GetValue(dataDir), Console.Out));
        return command;
    }

    /// <summary>Runs the named experiment(s); returns the results (the files and the conclusions).</summary>
    internal static IReadOnlyList<ExperimentResult> RunExperiments(string name, string outDir, string backendName, int seed, bool quick,
        string? dataDir, TextWriter log)
    {
        var experiments = string.Equals(name, "all", StringComparison.OrdinalIgnoreCase)
            ? ExperimentCatalog.All
            : [ExperimentCatalog.Find(name) ?? throw new CliErrors.UsageException(
                $"unknown experiment '{name}'; known experiments: {string.Join(", ", ExperimentCatalog.All.Select(e => e.Name))}, all")];
        using var backend = BackendSelection.Create(backendName);
        var results = new List<ExperimentResult>();
        foreach (var experiment in experiments)
        {
            log.WriteLine($"neuro: experiment {experiment.Name}{(quick ? " (quick)" : "")} on {backend.Name} ({backend.DeviceName}), seed {seed}");
            var clock = Stopwatch.StartNew();
            var context = new ExperimentContext(backend, outDir, seed, quick, dataDir, log);
            var result = experiment.Run(context);
            foreach (var conclusion in result.Conclusions)
                log.WriteLine($"  {(conclusion.Agrees ? "agrees" : "DOES NOT AGREE")}: {conclusion.Claim}");
            foreach (string file in result.Files) log.WriteLine($"  wrote {file}");
            log.WriteLine($"  {Format.Seconds(clock.Elapsed.TotalSeconds)}");
            results.Add(result);
        }
        return results;
    }

    static int Run(string name, string outDir, string backendName, int seed, bool quick, string? dataDir, TextWriter log)
    {
        RunExperiments(name, outDir, backendName, seed, quick, dataDir, log);
        return 0;
    }
}
