using System.CommandLine;
using System.Diagnostics;
using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro bench</c>: training throughput (images/s over <c>--steps</c> steps of batch <c>--batch</c>,
/// after at least 2 s of warm-up; the clock stops after a loss readback so queued GPU work is counted) and batch-1 inference
/// latency (upload one image, forward, download the logits), on synthetic data. With <c>--monitor-every K</c> it also
/// measures the training monitor's cost: rounds of <c>--steps</c> steps without and with a monitor sampling every K steps,
/// alternated (so drift on a busy machine hits both alike), each ended by a loss readback (and the monitor's last
/// samples), compared by their total times. With <c>--guard</c> every training step is a <see cref="NonFiniteGuard"/>'s guarded
/// step (watching the forward pass too, its report polled after each step, as <see cref="FrameBudgetedTrainer"/> does).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Zoo model name", DefaultValueFactory = _ => "lenet5" };
        var backend = new Option<string>("--backend") { Description = "auto, gl or cpu", DefaultValueFactory = _ => "auto" };
        var batch = new Option<int>("--batch") { Description = "Training batch size", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "Timed training steps", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var monitorEvery = new Option<int>("--monitor-every") { Description = "Also measure the training monitor's slow-down when it samples every K steps (0: off)" };
        var rounds = new Option<int>("--rounds") { Description = "Alternated rounds without and with the monitor (--monitor-every)", DefaultValueFactory = _ => 5 };
        var guard = new Option<bool>("--guard") { Description = "Train with the non-finite guard (NonFiniteGuard: checks every step, skips bad updates)" };
        // the penalties and clipping the step runs, as neuro train takes them (--l1, --l2, --clip-norm)
        var penalties = TrainingOptions.Fields.Where(f => f.Name is "l1" or "l2" or "clipNorm").Select(TrainCommand.CreateOption).ToArray();
        var command = new Command("bench", "Measure training throughput and batch-1 inference latency") { model, backend, batch, steps, json, monitorEvery, rounds, guard };
        foreach (var (option, _, _) in penalties) command.Add(option);
        command.SetAction(parse =>
        {
            var options = new TrainingOptions();
            foreach (var (_, field, read) in penalties)
                if (read(parse) is { } value) options = options.With(field, value);
            return Run(parse.GetValue(model)!, parse.GetValue(backend)!, parse.GetValue(batch), parse.GetValue(steps), parse.GetValue(json),
                parse.GetValue(monitorEvery), parse.GetValue(rounds), parse.GetValue(guard), options);
        });
        return command;
    }

    static int Run(string modelName, string backendName, int batch, int steps, bool json, int monitorEvery, int rounds, bool guarded,
        TrainingOptions penalties)
    {
        if (batch < 1) throw new CliErrors.UsageException($"--batch must be at least 1, got {batch}");
        if (steps < 1) throw new CliErrors.UsageException($"--steps must be at least 1, got {steps}");
        if (monitorEvery < 0) throw new CliErrors.UsageException($"--monitor-every must be 0 (off) or at least 1, got {monitorEvery}");
        if (rounds < 1) throw new CliErrors.UsageException($"--rounds must be at least 1, got {rounds}");
        if (guarded && monitorEvery > 0) throw new CliErrors.UsageException("--guard and --monitor-every measure different things; give one of them");
        penalties.Validate(TrainingOptionNaming.Flag);
        var graph = ModelZoo.Build(modelName);
        using var backend = BackendSelection.Create(backendName);
        using var network = Network.Create(graph, backend, seed: 1);
        var random = new Random(1);

        using var training = ExecutionPlan.ForTraining(network, batch);
        TrainingThroughput.FillSyntheticBatch(training, random);
        var optimizer = new Sgd(0.01f);
        penalties.ApplyPenalties(optimizer);
        using var guard = guarded ? new NonFiniteGuard(training, optimizer) : null;
        Action step = guard is null ? () => training.TrainStep(optimizer) : () =>
        {
            guard.TrainStep();
            if (guard.Poll() is { } report) throw new InvalidOperationException($"synthetic data gave a non-finite step: {report}");
        };
        double trainImagesPerSecond = TrainingThroughput.ImagesPerSecond(training, step, steps);
        // dispatches per step, counted over a few more steps after the timed ones
        const int countedSteps = 10;
        long dispatches = Dispatches(backend);
        for (int i = 0; i < countedSteps; i++) step();
        double? dispatchesPerStep = backend is GLBackend ? (double)(Dispatches(backend) - dispatches) / countedSteps : null;
        var monitorCost = monitorEvery > 0 ? MeasureMonitor(backend, training, optimizer, batch, steps, monitorEvery, rounds) : null;

        using var inference = ExecutionPlan.ForInference(network, 1);
        float[] image = TrainingThroughput.RandomValues(random, inference.Input.Length), logits = new float[inference.Output.Length];
        int runs = Math.Max(50, steps * 2);
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < 100 || warmUp.Elapsed.TotalSeconds < 1; i++) Infer(inference, image, logits);
        dispatches = Dispatches(backend);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++) Infer(inference, image, logits);
        double inferenceMicroseconds = clock.Elapsed.TotalMicroseconds / runs;
        double? dispatchesPerInference = backend is GLBackend ? (double)(Dispatches(backend) - dispatches) / runs : null;

        var result = new BenchReport(modelName, backend.Name, backend.DeviceName, batch, steps, trainImagesPerSecond, inferenceMicroseconds,
            $"{Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}", monitorCost,
            dispatchesPerStep, dispatchesPerInference, guarded);
        if (json)
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, new System.Text.Json.JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase }));
        else
        {
            string trained = guarded ? "guarded training" : "training";
            Console.WriteLine($"{modelName} on {backend.Name} ({backend.DeviceName}): {trained} {trainImagesPerSecond:N0} images/s (batch {batch}), inference {inferenceMicroseconds:N1} µs/image (batch 1)");
            if (dispatchesPerStep is double perStep)
                Console.WriteLine($"kernel dispatches: {perStep:N1} per {trained} step, {dispatchesPerInference:N1} per inference");
            if (monitorCost is not null)
                Console.WriteLine($"monitor every {monitorCost.Every} step(s): a step takes {monitorCost.StepMilliseconds:N1} ms, {monitorCost.SampledStepMilliseconds:N1} ms with a sample " +
                    $"(fastest of {rounds}): {monitorCost.SlowdownPercent:+0.0;-0.0} % slower; alternated rounds: {monitorCost.MonitoredImagesPerSecond:N0} images/s against " +
                    $"{monitorCost.UnmonitoredImagesPerSecond:N0} without ({monitorCost.RoundsSlowdownPercent:+0.0;-0.0} %), {monitorCost.Samples} samples; " +
                    $"between samples: {monitorCost.BytesBetweenSamples} bytes allocated and {monitorCost.ExtraDispatchesBetweenSamples} extra dispatches in {monitorCost.StepsBetweenSamples} steps");
        }
        return 0;
    }

    /// <summary>
    /// The monitor's slow-down at one interval, two ways. Directly: alternated rounds without and with it, total times
    /// compared. And from the cost of one sample, robust on a shared machine: the fastest of <paramref name="rounds"/> × 2
    /// single steps without a sample and with one (each ended by waiting for the device), so that
    /// <c>slow-down(K) = (sampled − plain) / (K · plain)</c> (steps between samples cost nothing extra: no device work,
    /// no allocation, as the tests check).
    /// </summary>
    static MonitorCost MeasureMonitor(IBackend backend, ExecutionPlan training, Optimizer optimizer, int batch, int steps, int every, int rounds)
    {
        // warm-up of the statistics kernels and the readback path: a few steps sampled every time
        using (var warm = new TrainingMonitor(training, optimizer, new MonitorOptions { Every = 1 }))
        {
            for (int i = 0; i < 3; i++)
            {
                training.TrainStep(optimizer);
                warm.StepCompleted();
            }
            warm.Flush();
        }
        double off = 0, on = 0; // seconds
        long samples = 0, completed = 1; // steps counted from 2 on, so each round samples every K-th step and no "first step"
        var clock = new Stopwatch();
        for (int round = 0; round < rounds; round++)
        {
            clock.Restart();
            for (int i = 0; i < steps; i++) training.TrainStep(optimizer);
            training.ReadLoss();
            off += clock.Elapsed.TotalSeconds;

            using var monitor = new TrainingMonitor(training, optimizer, new MonitorOptions { Every = every, WaitWhenBusy = true }, completed);
            clock.Restart();
            for (int i = 0; i < steps; i++)
            {
                training.TrainStep(optimizer);
                monitor.StepCompleted();
            }
            monitor.Flush();
            training.ReadLoss();
            on += clock.Elapsed.TotalSeconds;
            samples += monitor.SamplesDelivered;
            completed = monitor.CompletedSteps;
        }

        double plain = double.PositiveInfinity, sampled = double.PositiveInfinity;
        StepWork without, between;
        using (var single = new TrainingMonitor(training, optimizer, new MonitorOptions { Every = int.MaxValue, WaitWhenBusy = true }, completed))
        {
            // what a step between samples costs: the same steps without a monitor and with one that does not sample
            without = CountStepWork(backend, steps, () => training.TrainStep(optimizer));
            between = CountStepWork(backend, steps, () =>
            {
                training.TrainStep(optimizer);
                single.StepCompleted();
            });
            for (int i = 0; i < 2 * rounds; i++)
            {
                bool sample = i % 2 == 1;
                if (sample) single.RequestSample();
                clock.Restart();
                training.TrainStep(optimizer);
                single.StepCompleted();
                single.Flush();
                training.ReadLoss();
                double seconds = clock.Elapsed.TotalSeconds;
                if (sample) sampled = Math.Min(sampled, seconds);
                else plain = Math.Min(plain, seconds);
            }
        }
        return new MonitorCost(every, rounds, 1e3 * plain, 1e3 * sampled, 100 * (sampled - plain) / (every * plain),
            (double)rounds * steps * batch / off, (double)rounds * steps * batch / on, 100 * (on / off - 1), samples,
            between.Bytes, between.Dispatches - without.Dispatches, steps);
    }

    /// <summary>Managed bytes this thread allocated and kernel dispatches issued (GL) over <paramref name="steps"/> runs of
    /// <paramref name="step"/>.</summary>
    static StepWork CountStepWork(IBackend backend, int steps, Action step)
    {
        long dispatches = Dispatches(backend), bytes = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) step();
        return new StepWork(GC.GetAllocatedBytesForCurrentThread() - bytes, Dispatches(backend) - dispatches);
    }

    readonly record struct StepWork(long Bytes, long Dispatches);

    /// <summary>Kernel dispatches so far on a GL backend (<see cref="GLDevice.DispatchCount"/>); 0 elsewhere.</summary>
    static long Dispatches(IBackend backend) => backend is GLBackend gl ? gl.Device.DispatchCount : 0;

    static void Infer(ExecutionPlan plan, float[] image, float[] logits)
    {
        plan.Input.Upload(image);
        plan.Forward();
        plan.Output.Download(logits);
    }
}

/// <summary>The result of <c>neuro bench</c>.</summary>
internal sealed record BenchReport(string Model, string Backend, string Device, int Batch, int Steps,
    double TrainImagesPerSecond, double InferenceMicrosecondsPerImage, string Machine, MonitorCost? Monitor = null,
    double? DispatchesPerStep = null, double? DispatchesPerInference = null, bool Guarded = false);

/// <summary>The training monitor's cost at one interval (<c>neuro bench --monitor-every K</c>): the fastest step without and
/// with a sample and the slow-down at K they give (<c>100·(sampled − plain)/(K·plain)</c> %); and the direct measurement,
/// throughput over alternated rounds without and with the monitor (<c>100·(time with / time without − 1)</c> %). Between
/// samples: the managed bytes <paramref name="StepsBetweenSamples"/> steps allocated with a monitor attached that did not
/// sample, and the kernel dispatches they issued beyond the same steps without a monitor (GL; 0 on the CPU).</summary>
internal sealed record MonitorCost(int Every, int Rounds, double StepMilliseconds, double SampledStepMilliseconds, double SlowdownPercent,
    double UnmonitoredImagesPerSecond, double MonitoredImagesPerSecond, double RoundsSlowdownPercent, long Samples,
    long BytesBetweenSamples, long ExtraDispatchesBetweenSamples, int StepsBetweenSamples);
