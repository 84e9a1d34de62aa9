using System.CommandLine;
using System.Text.Json;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Serialization;
using NeuroPlugin.Tensors;
using NeuroPlugin.Training;
using Spectre.Console;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro train</c>: trains a zoo model, or the architecture of a <c>.neuro</c> file from scratch, on Fashion-MNIST or
/// an image folder (<c>--data folder:PATH</c>), shows a progress bar (loss, images/s), prints the test accuracy, saves the
/// model to <c>--out</c> and writes a JSON report. The training flags are <see cref="TrainingOptions.Fields"/> (names,
/// defaults, descriptions) and the run is a <see cref="TrainingRun"/>; this command adds the data and the model.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = $"Zoo model name, or a {ModelFileExtension} file whose architecture is trained from scratch (its weights are ignored)",
            DefaultValueFactory = _ => "lenet5",
        };
        var data = new Option<string>("--data") { Description = "Dataset: fashion-mnist, or folder:PATH for PATH/<class>/*.png|jpg (optional PATH/train and PATH/test)", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = new Option<string?>("--data-dir") { Description = $"Folder of the dataset's IDX files (default ${FashionMnist.FolderEnvironmentVariable} or {FashionMnist.DefaultFolder})" };
        var training = TrainingOptions.Fields.Select(CreateOption).ToArray();
        var backend = new Option<string>("--backend") { Description = BackendSelection.Field.Description, DefaultValueFactory = _ => (string)BackendSelection.Field.Default! };
        var outDir = new Option<string?>("--out") { Description = "Folder to save the trained model (model.neuro)" };
        var report = new Option<string?>("--report") { Description = "Write a JSON report to this file" };
        var channels = new Option<int?>("--channels") { Description = "With folder:PATH: 1 (grayscale, default) or 3 (RGB)" };
        var testFraction = new Option<double?>("--test-fraction") { Description = "With folder:PATH and no train/ and test/ folders: the fraction of each class held out for testing, 0 < F < 1 (default 0.2; the split follows --seed)" };
        var command = new Command("train", "Train a model and report its test accuracy") { model, data, dataDir };
        foreach (var (option, _, _) in training) command.Add(option);
        foreach (var option in new Option[] { backend, outDir, report, channels, testFraction }) command.Add(option);
        command.SetAction(parse =>
        {
            var options = new TrainingOptions();
            foreach (var (_, field, read) in training)
                if (read(parse) is { } value) options = options.With(field, value);
            return Run(new TrainSettings(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(dataDir), parse.GetValue(backend)!,
                parse.GetValue(outDir), parse.GetValue(report), parse.GetValue(channels), parse.GetValue(testFraction), options));
        });
        return command;
    }

    /// <summary>The flag of one training option: its kind's type, description and default from the field.</summary>
    internal static (Option Option, TrainingField Field, Func<ParseResult, object?> Read) CreateOption(TrainingField field) => field.Kind switch
    {
        TrainingFieldKind.Integer => Flag<int?>(field, v => v),
        TrainingFieldKind.Number => Flag<float?>(field, v => v),
        TrainingFieldKind.Choices => Flag<string?>(field, v => v?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)),
        _ => Flag<string?>(field, v => v),
    };

    static (Option, TrainingField, Func<ParseResult, object?>) Flag<T>(TrainingField field, Func<T?, object?> convert)
    {
        var option = new Option<T>(field.Flag) { Description = field.Description };
        if (field.Default is not null and not IEnumerable<string>) option.DefaultValueFactory = _ => (T)field.Default;
        return (option, field, parse => convert(parse.GetValue(option)));
    }

    /// <summary>What <c>neuro train</c> was asked for: the data and model (this command's own flags) and the training options.</summary>
    internal sealed record TrainSettings(string Model, string Data, string? DataDir, string Backend, string? OutDir, string? ReportPath,
        int? Channels, double? TestFraction, TrainingOptions Options)
    {
        /// <summary>The PATH of <c>--data folder:PATH</c>, or null for Fashion-MNIST.</summary>
        public string? FolderPath => Data.StartsWith(FolderPrefix, StringComparison.OrdinalIgnoreCase) ? Data[FolderPrefix.Length..] : null;

        /// <summary>Whether <c>--model</c> names a model file rather than a zoo model.</summary>
        public bool ModelIsFile => Model.EndsWith(ModelFileExtension, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The prefix of an image-folder dataset, <c>--data folder:PATH</c>.</summary>
    internal const string FolderPrefix = "folder:";

    /// <summary>What a <c>--model</c> value ends with when it names a model file.</summary>
    const string ModelFileExtension = ".neuro";

    static int Run(TrainSettings s)
    {
        if (s.FolderPath is null && !string.Equals(s.Data, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
            throw new CliErrors.UsageException($"unknown dataset '{s.Data}'; known datasets: fashion-mnist, folder:PATH");
        var options = s.Options;
        options.Validate(TrainingOptionNaming.Flag); // before any data is read
        // read (and validate) before the data loads, so a bad file fails fast
        var resumeFrom = options.Resume is null ? null : TrainingCheckpoint.Read(options.Resume);
        var architecture = s.ModelIsFile ? ModelFile.ReadGraph(s.Model) : null;
        var folder = LoadFolder(s, architecture); // null for Fashion-MNIST; a folder is read first, as the model needs its classes and channels
        var graph = architecture is null ? BuildModel(s, folder?.Train) : FitToData(s, architecture, folder?.Train);
        if (resumeFrom is not null && !resumeFrom.IsCheckpointOf(graph))
            throw new CliErrors.UsageException($"--resume {options.Resume}: the checkpoint's network is not --model {s.Model}'s");

        var train = folder?.Train ?? FashionMnist.LoadTrain(s.DataDir);
        var test = folder?.Test ?? FashionMnist.LoadTest(s.DataDir);
        using var backend = BackendSelection.Create(s.Backend);
        using var network = Network.Create(graph, backend, options.Seed);
        // a monitored run is evaluated at every epoch's end (its file's evaluation lines); otherwise after the last only
        using var run = new TrainingRun(network, train, test, options, TrainingOptionNaming.Flag, resumeFrom)
        {
            EvaluateEveryEpoch = options.Monitor is not null, Name = s.Model,
        };
        var trainer = run.Trainer;
        Console.WriteLine($"neuro: training {s.Model} ({network.ParameterCount:N0} parameters) on {run.Train.Count:N0} {(folder is null ? "Fashion-MNIST" : train.Name)} images, backend {backend.Name} ({backend.DeviceName})");
        if (resumeFrom is not null)
            Console.WriteLine($"neuro: resumed from {options.Resume} at step {trainer.Step} (epoch {trainer.Epoch + 1}, batch {trainer.BatchInEpoch}/{run.Loader.BatchesPerEpoch})");

        TrainingResult result = null!;
        Terminal.Create().Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                run.AddObserver(new ProgressBars(context, options.Epochs));
                result = run.Run();
            });
        Console.WriteLine($"neuro: test accuracy {result.TestAccuracy:P2} ({run.Test!.Count:N0} images), final loss {result.LastLoss:F4}, {result.TrainImagesPerSecond:N0} training images/s, {result.Seconds:F1} s");
        if (options.Monitor is not null) Console.WriteLine($"neuro: monitor file {options.Monitor} ({run.Monitor!.SamplesDelivered:N0} samples)");
        WriteDiagnostics(result.Diagnostics);

        if (s.OutDir is not null && (result.Diverged || HasNonFiniteWeights(network)))
            // as the editor does: a diverged run's weights are noise or NaN, and a model file that was there stays
            Console.Error.WriteLine($"neuro: not saved to {Path.Combine(s.OutDir, "model.neuro")}: the run diverged (its weights are noise or NaN)");
        else if (s.OutDir is not null)
        {
            Directory.CreateDirectory(s.OutDir);
            string modelPath = Path.Combine(s.OutDir, "model.neuro");
            ModelFile.Save(network, modelPath, ModelMetadata.ForImageClassifier(graph, train, ModelProvenance.Now(s.ModelIsFile ? Path.GetFileNameWithoutExtension(s.Model) : s.Model, s.Data, result.TestAccuracy, options.Seed)));
            Console.WriteLine($"neuro: saved {modelPath}");
        }
        if (s.ReportPath is not null)
        {
            // no loss when this process took no step (resumed from the last one) or it was not a number: NaN is not JSON
            var used = run.Options;
            var schedule = NeuroPlugin.Optimizers.LearningRateSchedule.Kinds.First(k => k.Name == used.Schedule);
            var report = new TrainingReport(s.Model, backend.Name, backend.DeviceName, used.Epochs, used.BatchSize, used.LearningRate!.Value, used.Momentum!.Value,
                trainer.Schedule.Name, used.Seed, run.Train.Count, result.TestAccuracy ?? double.NaN, float.IsNaN(result.LastLoss) ? null : result.LastLoss, result.TrainImagesPerSecond, result.Seconds)
            {
                Optimizer = trainer.Optimizer.Name, WeightDecay = used.WeightDecay!.Value, L1 = used.L1, L2 = used.L2, ClipNorm = used.ClipNorm,
                WarmupSteps = used.WarmupSteps, Gamma = schedule.UsesGamma ? used.Gamma : null, StepSize = schedule.UsesStepSize ? used.StepSize : null,
                ResumedFrom = used.Resume, ResumedAtStep = resumeFrom is null ? null : result.FirstStep, Checkpoint = used.Checkpoint,
                Monitor = used.Monitor, Diverged = result.Diverged,
                Diagnostics = result.Diagnostics.Items.Select(d => new ReportedDiagnostic(d.KindName, d.Title, d.SeverityName, d.Node, d.Message, d.Remedy)).ToArray(),
            };
            WriteJson(s.ReportPath, report);
        }
        return 0;
    }

    static bool HasNonFiniteWeights(Network network) =>
        network.ParameterNames.Any(name => !network.Parameter(name).ToArray().All(float.IsFinite));

    /// <summary>The run's diagnostics, one per line on stderr: "the run diverged" first when it did (a run at chance
    /// accuracy no longer ends without a word).</summary>
    static void WriteDiagnostics(NeuroPlugin.Monitoring.DiagnosticReport report)
    {
        foreach (var diagnostic in report.Items)
            Console.Error.WriteLine($"neuro: {diagnostic.SeverityName}: {diagnostic}");
    }

    /// <summary>One progress bar per epoch: loss and throughput of the latest report.</summary>
    sealed class ProgressBars(ProgressContext context, int epochs) : ITrainingObserver
    {
        ProgressTask? task;

        public void EpochStarted(TrainingRun run, int epoch, int firstBatch)
        {
            task = context.AddTask($"epoch {epoch + 1}/{epochs}", maxValue: run.Loader.BatchesPerEpoch);
            task.Value = firstBatch;
        }

        public void ProgressReported(TrainingRun run, TrainingProgress p)
        {
            task!.Value = p.Batch;
            task.Description = $"epoch {p.Epoch + 1}/{epochs}  loss {p.Loss:F4}  {p.ImagesPerSecond:N0} images/s";
        }
    }

    /// <summary>
    /// The zoo model for one-channel images (Fashion-MNIST is grey; every builder takes any channel count, so nothing is
    /// replicated to three channels): for 28×28, or, with --image-size S, for S×S behind an <see cref="InputResize"/> node
    /// that resizes each 28×28 batch bilinearly on the device (augmentation still works at 28×28, and the saved model
    /// takes 28×28 images). A model that needs larger images names its smallest size and the option.
    /// </summary>
    static NetworkGraph BuildModel(TrainSettings s, ImageDataset? folder)
    {
        if (folder is not null)
        {
            try
            {
                return ModelZoo.Build(s.Model, new ModelOptions(folder.Channels, folder.Height, folder.ClassCount));
            }
            catch (ModelInputException e)
            {
                throw new CliErrors.UsageException($"{e.Message}; pass --image-size with at least that size to decode the folder's images larger");
            }
        }
        int size = s.Options.ImageSize ?? FashionMnist.ImageSize;
        NetworkGraph model;
        try
        {
            model = ModelZoo.Build(s.Model, new ModelOptions(1, size, FashionMnist.ClassCount));
        }
        catch (ModelInputException e)
        {
            throw new CliErrors.UsageException($"{e.Message}; pass --image-size with at least that size to resize the {FashionMnist.ImageSize}×{FashionMnist.ImageSize} images");
        }
        return size == FashionMnist.ImageSize ? model : InputResize.Prepend(model, new TensorShape(1, FashionMnist.ImageSize, FashionMnist.ImageSize));
    }

    /// <summary>
    /// A model file's architecture for the data, as the zoo models are built for it: its input must be C×S×S — 1×S×S for
    /// Fashion-MNIST, whose 28×28 images are resized to S×S on the device when S is not 28 (an <see cref="InputResize"/>
    /// in front, as --image-size does); an image folder is decoded to the file's C and S (see <see cref="LoadFolder"/>) —
    /// and its output one logit per class. --image-size, when given, must be S.
    /// </summary>
    static NetworkGraph FitToData(TrainSettings s, NetworkGraph graph, ImageDataset? folder)
    {
        var input = graph.Inputs[0];
        var output = graph.InferShapes(1)[graph.Output];
        int classes = folder?.ClassCount ?? FashionMnist.ClassCount;
        if (output.Rank != 2 || output[1] != classes)
            throw new CliErrors.UsageException($"--model {s.Model}: its output '{graph.Output}' is {output}; {(folder is null ? "Fashion-MNIST" : s.Data)} needs (N,{classes}) logits for its {classes} classes");
        if (folder is not null) return graph;
        if (input.ItemShape.Rank != 3 || input.ItemShape[0] != 1 || input.ItemShape[1] != input.ItemShape[2])
            throw new CliErrors.UsageException($"--model {s.Model}: its input '{input.Name}' is {input.ItemShape}; Fashion-MNIST needs 1×S×S (grayscale, square)");
        int size = input.ItemShape[1];
        if (s.Options.ImageSize is int asked && asked != size)
            throw new CliErrors.UsageException($"--image-size {asked}: the input of {s.Model} is {size}×{size}; leave --image-size out");
        return size == FashionMnist.ImageSize ? graph : InputResize.Prepend(graph, new TensorShape(1, FashionMnist.ImageSize, FashionMnist.ImageSize));
    }

    /// <summary>
    /// <c>--data folder:PATH</c>: the folder's train and test sets (<see cref="ImageFolder"/>), decoded to --image-size
    /// (default 28, or a model file's input size) with --channels (default 1, or the model file's), split by
    /// --test-fraction (default 0.2) with --seed where it has no train/test folders; null for Fashion-MNIST.
    /// </summary>
    static ImageFolderSplit? LoadFolder(TrainSettings s, NetworkGraph? architecture)
    {
        if (s.FolderPath is not string path)
        {
            if (s.Channels is not null) throw new CliErrors.UsageException("--channels applies to --data folder:PATH only (Fashion-MNIST is grayscale)");
            if (s.TestFraction is not null) throw new CliErrors.UsageException("--test-fraction applies to --data folder:PATH only (Fashion-MNIST has its own test set)");
            return null;
        }
        if (path.Length == 0) throw new CliErrors.UsageException("--data folder:PATH needs a folder, e.g. folder:./pictures");
        if (s.Channels is not (null or 1 or 3)) throw new CliErrors.UsageException($"--channels must be 1 or 3, got {s.Channels}");
        if (s.TestFraction is { } fraction)
        {
            if (!(fraction > 0 && fraction < 1)) throw new CliErrors.UsageException($"--test-fraction must be between 0 and 1 (exclusive), got {fraction}");
            if (Directory.Exists(Path.Combine(path, "train")) && Directory.Exists(Path.Combine(path, "test")))
                throw new CliErrors.UsageException($"--test-fraction: {path} has train/ and test/ folders, whose split is used as it is");
        }
        int size = s.Options.ImageSize ?? FashionMnist.ImageSize, channels = s.Channels ?? 1;
        if (architecture is not null)
        {
            var item = architecture.Inputs[0].ItemShape;
            if (item.Rank != 3 || item[0] is not (1 or 3) || item[1] != item[2])
                throw new CliErrors.UsageException($"--model {s.Model}: its input '{architecture.Inputs[0].Name}' is {item}; an image folder needs C×S×S with C 1 or 3");
            if (s.Options.ImageSize is int asked && asked != item[1])
                throw new CliErrors.UsageException($"--image-size {asked}: the input of {s.Model} is {item[1]}×{item[2]}; leave --image-size out");
            if (s.Channels is int c && c != item[0])
                throw new CliErrors.UsageException($"--channels {c}: the input of {s.Model} has {item[0]}; leave --channels out");
            (channels, size) = (item[0], item[1]);
        }
        var defaults = new ImageFolderOptions();
        var split = ImageFolder.Load(path, defaults with
        {
            ImageSize = size, Channels = channels, Seed = s.Options.Seed, TestFraction = s.TestFraction ?? defaults.TestFraction,
        });
        if (split.Test.Count == 0)
            throw new CliErrors.UsageException($"--data {s.Data}: no test images; add {Path.Combine(path, "test")} (with {Path.Combine(path, "train")}) or more images per class");
        return split;
    }

    internal static void WriteJson<T>(string path, T value)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        // a diverged run's loss is NaN: written as "NaN" rather than failing the report
        File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
    }
}

/// <summary>The JSON report of <c>neuro train --report</c>.</summary>
internal sealed record TrainingReport(string Model, string Backend, string Device, int Epochs, int Batch, float LearningRate, float Momentum, string Schedule, int Seed,
    int TrainImages, double TestAccuracy, float? FinalLoss, double TrainImagesPerSecond, double Seconds)
{
    public required string Optimizer { get; init; }
    public float WeightDecay { get; init; }
    public float L1 { get; init; }
    public float L2 { get; init; }
    public float? ClipNorm { get; init; }
    public int WarmupSteps { get; init; }
    public float? Gamma { get; init; }
    public int? StepSize { get; init; }
    /// <summary>The checkpoint the run continued from (--resume), or null.</summary>
    public string? ResumedFrom { get; init; }
    /// <summary>The step it continued at, or null.</summary>
    public long? ResumedAtStep { get; init; }
    /// <summary>The checkpoint the run wrote (--checkpoint), or null.</summary>
    public string? Checkpoint { get; init; }
    /// <summary>The monitor file (--monitor), or null.</summary>
    public string? Monitor { get; init; }
    /// <summary>Whether the run diverged (its loss went NaN or ∞, or rose far above its start).</summary>
    public bool Diverged { get; init; }
    /// <summary>The diagnostics in force at the end.</summary>
    public IReadOnlyList<ReportedDiagnostic> Diagnostics { get; init; } = [];
}

/// <summary>A diagnostic in the JSON report: its kind's name, title, severity, node (null for the run), message and remedy.</summary>
internal sealed record ReportedDiagnostic(string Kind, string Title, string Severity, string? Node, string Message, string Remedy);
