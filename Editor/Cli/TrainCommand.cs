using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;
using Spectre.Console;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro train</c>: trains a zoo model on Fashion-MNIST with SGD, shows a progress bar (loss,
/// images/s), prints the test accuracy, saves the model to <c>--out</c> and writes a JSON report.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Zoo model name", DefaultValueFactory = _ => "lenet5" };
        var data = new Option<string>("--data") { Description = "Dataset name", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = new Option<string?>("--data-dir") { Description = $"Folder of the dataset's IDX files (default ${FashionMnist.FolderEnvironmentVariable} or {FashionMnist.DefaultFolder})" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch") { Description = "Mini-batch size", DefaultValueFactory = _ => TrainingDefaults.BatchSize };
        var lr = new Option<float>("--lr") { Description = "Base learning rate of SGD", DefaultValueFactory = _ => TrainingDefaults.LearningRate };
        var momentum = new Option<float>("--momentum") { Description = "SGD momentum μ (0 for plain SGD)", DefaultValueFactory = _ => TrainingDefaults.Momentum };
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule: cosine or constant", DefaultValueFactory = _ => TrainingDefaults.Schedule };
        var backend = new Option<string>("--backend") { Description = "auto, gl or cpu", DefaultValueFactory = _ => "auto" };
        var seed = new Option<int>("--seed") { Description = "Seed of initialization and shuffling", DefaultValueFactory = _ => 1 };
        var limit = new Option<int?>("--train-limit") { Description = "Use only the first N training images (quick runs)" };
        var outDir = new Option<string?>("--out") { Description = "Folder to save the trained model (model.neuro)" };
        var report = new Option<string?>("--report") { Description = "Write a JSON report to this file" };
        var command = new Command("train", "Train a model and report its test accuracy")
        {
            model, data, dataDir, epochs, batch, lr, momentum, schedule, backend, seed, limit, outDir, report,
        };
        command.SetAction(parse => Run(new TrainSettings(
            parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(dataDir), parse.GetValue(epochs), parse.GetValue(batch),
            parse.GetValue(lr), parse.GetValue(momentum), parse.GetValue(schedule)!, parse.GetValue(backend)!, parse.GetValue(seed), parse.GetValue(limit), parse.GetValue(outDir), parse.GetValue(report))));
        return command;
    }

    internal sealed record TrainSettings(string Model, string Data, string? DataDir, int Epochs, int Batch, float LearningRate,
        float Momentum, string Schedule, string Backend, int Seed, int? TrainLimit, string? OutDir, string? ReportPath);

    static int Run(TrainSettings s)
    {
        if (!string.Equals(s.Data, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
            throw new CliErrors.UsageException($"unknown dataset '{s.Data}'; known datasets: fashion-mnist");
        if (s.Epochs < 1) throw new CliErrors.UsageException($"--epochs must be at least 1, got {s.Epochs}");
        if (s.Batch < 1) throw new CliErrors.UsageException($"--batch must be at least 1, got {s.Batch}");
        if (!(s.LearningRate > 0) || !float.IsFinite(s.LearningRate)) throw new CliErrors.UsageException($"--lr must be a positive number, got {s.LearningRate}");
        if (!(s.Momentum >= 0 && s.Momentum < 1)) throw new CliErrors.UsageException($"--momentum must be in [0, 1), got {s.Momentum}");
        var schedule = LearningRateSchedule.Parse(s.Schedule);
        if (s.TrainLimit is < 1) throw new CliErrors.UsageException($"--train-limit must be at least 1, got {s.TrainLimit}");
        var graph = ModelZoo.Build(s.Model, new ModelOptions(1, FashionMnist.ImageSize, FashionMnist.ClassCount));

        var train = FashionMnist.LoadTrain(s.DataDir);
        var test = FashionMnist.LoadTest(s.DataDir);
        if (s.TrainLimit is int n && n < train.Count) train = train.Take(n);
        if (s.Batch > train.Count) throw new CliErrors.UsageException($"--batch {s.Batch} is larger than the {train.Count} training images");

        using var backend = BackendSelection.Create(s.Backend);
        using var network = Network.Create(graph, backend, s.Seed);
        var loader = new DataLoader(train, s.Batch, shuffle: true, seed: s.Seed, dropLast: true);
        using var trainer = new Trainer(network, new Sgd(s.LearningRate, s.Momentum), s.Batch, schedule, (long)loader.BatchesPerEpoch * s.Epochs);
        Console.WriteLine($"neuro: training {s.Model} ({network.ParameterCount:N0} parameters) on {train.Count:N0} Fashion-MNIST images, backend {backend.Name} ({backend.DeviceName})");

        var clock = Stopwatch.StartNew();
        float lastLoss = float.NaN;
        double imagesPerSecond = 0;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                for (int epoch = 0; epoch < s.Epochs; epoch++)
                {
                    var task = context.AddTask($"epoch {epoch + 1}/{s.Epochs}", maxValue: loader.BatchesPerEpoch);
                    trainer.TrainEpoch(loader, epoch, p =>
                    {
                        lastLoss = p.Loss;
                        imagesPerSecond = p.ImagesPerSecond;
                        task.Value = p.Batch;
                        task.Description = $"epoch {epoch + 1}/{s.Epochs}  loss {p.Loss:F4}  {p.ImagesPerSecond:N0} images/s";
                    });
                }
            });
        double trainSeconds = clock.Elapsed.TotalSeconds;
        double accuracy = Trainer.Evaluate(network, test);
        double seconds = clock.Elapsed.TotalSeconds;
        double throughput = (double)loader.BatchesPerEpoch * s.Batch * s.Epochs / trainSeconds;
        Console.WriteLine($"neuro: test accuracy {accuracy:P2} ({test.Count:N0} images), final loss {lastLoss:F4}, {throughput:N0} training images/s, {seconds:F1} s");

        if (s.OutDir is not null)
        {
            Directory.CreateDirectory(s.OutDir);
            string modelPath = Path.Combine(s.OutDir, "model.neuro");
            ModelFile.Save(network, modelPath);
            Console.WriteLine($"neuro: saved {modelPath}");
        }
        if (s.ReportPath is not null)
        {
            var report = new TrainingReport(s.Model, backend.Name, backend.DeviceName, s.Epochs, s.Batch, s.LearningRate, s.Momentum, schedule.Name, s.Seed,
                train.Count, accuracy, lastLoss, throughput, seconds);
            WriteJson(s.ReportPath, report);
        }
        return 0;
    }

    internal static void WriteJson<T>(string path, T value)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
    }
}

/// <summary>
/// Defaults of <c>neuro train</c>: SGD with momentum 0.9 and cosine decay from 0.02, batch 32. In PyTorch
/// (same network, data and normalization) this recipe gave LeNet-5 88.8 % after 2 epochs, where plain SGD
/// at a constant rate gave 86.4–88.0 % over a grid of rates and batch sizes.
/// </summary>
internal static class TrainingDefaults
{
    public const int BatchSize = 32;
    public const float LearningRate = 0.02f;
    public const float Momentum = 0.9f;
    public const string Schedule = "cosine";
}

/// <summary>The JSON report of <c>neuro train --report</c>.</summary>
internal sealed record TrainingReport(string Model, string Backend, string Device, int Epochs, int Batch, float LearningRate, float Momentum, string Schedule, int Seed,
    int TrainImages, double TestAccuracy, float FinalLoss, double TrainImagesPerSecond, double Seconds);
