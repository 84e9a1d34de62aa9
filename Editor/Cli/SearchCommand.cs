using System.CommandLine;
using NeuroPlugin.Data;
using NeuroPlugin.Editor.Search;
using NeuroPlugin.Search;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro search</c>: architecture search under a game's budget (<see cref="ArchitectureSearch"/>, regularized evolution
/// over the zoo's blocks) on Fashion-MNIST or an image folder, every candidate's latency measured on <c>--backend</c>.
/// Writes into <c>--out</c> the state (resumable: run the same command again), the log, every trained candidate's model,
/// and at the end the Pareto front as a chart, a markdown and CSV table and model files (<see cref="SearchReport"/>).
/// </summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var defaults = new SearchSettings();
        var data = new Option<string>("--data") { Description = "Dataset: fashion-mnist, or folder:PATH for PATH/<class>/*.png|jpg (its training split is searched on)", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = new Option<string?>("--data-dir") { Description = $"Folder of the Fashion-MNIST IDX files (default ${FashionMnist.FolderEnvironmentVariable} or {FashionMnist.DefaultFolder})" };
        var budget = new Option<double>("--budget") { Description = "Minutes to search (the candidate training when time runs out is dropped)", Required = true };
        var maxParams = new Option<long?>("--max-params") { Description = "Most learnable parameters a candidate may have" };
        var maxFlops = new Option<long?>("--max-flops") { Description = "Most forward FLOPs per image (2 per multiply-accumulate, as neuro inspect counts)" };
        var maxMs = new Option<double?>("--max-ms") { Description = "Most batch-1 latency in milliseconds, measured on --backend (median of repeats)" };
        var backend = new Option<string>("--backend") { Description = "cpu or gl: where candidates train and their latency is measured", DefaultValueFactory = _ => "cpu" };
        var seed = new Option<int>("--seed") { Description = "Seed of every random choice", DefaultValueFactory = _ => defaults.Seed };
        var outDir = new Option<string>("--out") { Description = "Search folder: state, log, candidates, front (an existing search there is resumed)", Required = true };
        var maxCandidates = new Option<int?>("--candidates") { Description = "Stop after this many candidates in all (resumed ones count)" };
        var population = new Option<int>("--population") { Description = "Regularized evolution's population P", DefaultValueFactory = _ => defaults.Population };
        var sampleSize = new Option<int>("--sample-size") { Description = "Tournament size S (parents are the best of S drawn from the population)", DefaultValueFactory = _ => defaults.SampleSize };
        var trainImages = new Option<int?>("--train-images") { Description = $"Images of each short training (default {defaults.TrainImages}, at most the data's minus the validation images)" };
        var validationImages = new Option<int?>("--validation-images") { Description = $"Images candidates are ranked on, the training set's last (default {defaults.ValidationImages}, at most a fifth of the data)" };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs of each short training", DefaultValueFactory = _ => defaults.Epochs };
        var patience = new Option<int>("--patience") { Description = "Early stopping: epochs without a better validation accuracy", DefaultValueFactory = _ => defaults.Patience };
        var batch = new Option<int>("--batch") { Description = "Batch size of the short training", DefaultValueFactory = _ => defaults.BatchSize };
        var command = new Command("search", "Search architectures of the zoo's blocks under parameter, FLOP and measured-latency budgets; write the Pareto front")
        {
            data, dataDir, budget, maxParams, maxFlops, maxMs, backend, seed, outDir, maxCandidates, population, sampleSize, trainImages, validationImages, epochs, patience, batch,
        };
        command.SetAction(parse =>
        {
            string backendName = parse.GetValue(backend)!.ToLowerInvariant();
            if (backendName is not ("cpu" or "gl"))
                throw new CliErrors.UsageException($"--backend must be cpu or gl (latency is measured where the model will run), got '{backendName}'");
            double minutes = parse.GetValue(budget);
            if (!(minutes > 0)) throw new CliErrors.UsageException($"--budget must be a positive number of minutes, got {minutes}");
            if (parse.GetValue(maxCandidates) is < 1) throw new CliErrors.UsageException($"--candidates must be at least 1, got {parse.GetValue(maxCandidates)}");
            var (train, validation) = LoadData(parse.GetValue(data)!, parse.GetValue(dataDir), parse.GetValue(seed), parse.GetValue(trainImages), parse.GetValue(validationImages));
            var settings = new SearchSettings
            {
                Seed = parse.GetValue(seed), Dataset = parse.GetValue(data)!, Backend = backendName,
                MaxParameters = parse.GetValue(maxParams), MaxFlops = parse.GetValue(maxFlops), MaxMilliseconds = parse.GetValue(maxMs),
                Population = parse.GetValue(population), SampleSize = parse.GetValue(sampleSize), TrainImages = train.Count, ValidationImages = validation.Count,
                Epochs = parse.GetValue(epochs), Patience = parse.GetValue(patience), BatchSize = parse.GetValue(batch),
            };
            return Run(settings, train, validation, parse.GetValue(outDir)!, TimeSpan.FromMinutes(minutes), parse.GetValue(maxCandidates), args: parse.Tokens.Select(t => t.Value));
        });
        return command;
    }

    static int Run(SearchSettings settings, ImageDataset train, ImageDataset validation, string folder, TimeSpan budget, int? maxCandidates, IEnumerable<string> args)
    {
        using var backend = BackendSelection.Create(settings.Backend);
        var search = new ArchitectureSearch(settings, train, validation, backend, folder) { Log = line => Console.WriteLine($"neuro: {line}") };
        var result = search.Run(budget, maxCandidates);
        foreach (string file in SearchReport.Write(folder, settings, result, backend, "neuro search " + string.Join(' ', args)))
            Console.WriteLine($"neuro: wrote {file}");
        return 0;
    }

    /// <summary>
    /// The short trainings' images and the validation images, both from the dataset's training split and disjoint: the
    /// first <paramref name="trainImages"/> and the last <paramref name="validationImages"/> (Fashion-MNIST's 60,000, or a
    /// folder's training split). The test set is never looked at, so a found model's test accuracy stays an honest measure.
    /// </summary>
    internal static (ImageDataset Train, ImageDataset Validation) LoadData(string data, string? dataDir, int seed, int? trainImages, int? validationImages)
    {
        ImageDataset all;
        if (data.StartsWith(TrainCommand.FolderPrefix, StringComparison.OrdinalIgnoreCase))
        {
            string path = data[TrainCommand.FolderPrefix.Length..];
            if (path.Length == 0) throw new CliErrors.UsageException("--data folder:PATH needs a folder, e.g. folder:./pictures");
            all = ImageFolder.Load(path, new ImageFolderOptions { Seed = seed }).Train;
        }
        else if (string.Equals(data, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            all = FashionMnist.LoadTrain(dataDir);
        }
        else throw new CliErrors.UsageException($"unknown dataset '{data}'; known datasets: fashion-mnist, folder:PATH");

        var defaults = new SearchSettings();
        int validation = validationImages ?? Math.Min(defaults.ValidationImages, all.Count / 5);
        int train = trainImages ?? Math.Min(defaults.TrainImages, all.Count - validation);
        if (validation < 1) throw new CliErrors.UsageException($"--validation-images must be at least 1, got {validation} ({all.Name} has {all.Count} images)");
        if (train < 1) throw new CliErrors.UsageException($"--train-images must be at least 1, got {train}");
        if (train + validation > all.Count)
            throw new CliErrors.UsageException($"--train-images {train} and --validation-images {validation} need {train + validation} images; {all.Name} has {all.Count}");
        return (all.Subset(0, train), all.Subset(all.Count - validation, validation));
    }
}
