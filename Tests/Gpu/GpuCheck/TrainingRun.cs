using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Training;

namespace NeuroPlugin.GpuCheck;

/// <summary>
/// LeNet-5 on Fashion-MNIST as <c>neuro train --model lenet5</c> trains it by default (SGD, learning rate 0.02, momentum
/// 0.9, cosine decay, batch 32, the given seed), on GL or the CPU, then scored on the 10,000 test images. With
/// <c>--steps N</c> only the first N steps (for validation mode, which is slow). Reports the accuracy, the last loss and a
/// SHA-256 of every parameter's bits, so that runs that must be identical (GL with and without NEURO_GL_SYNC, or in
/// validation mode) can be compared bit for bit.
/// </summary>
static class TrainingRun
{
    public static JsonObject Run(CommandOptions options)
    {
        string backendName = options.Require("backend");
        int seed = options.Int("seed", 1), epochs = options.Int("epochs", 1), steps = options.Int("steps", 0);
        const int Batch = 32;
        bool sync = options.Has("sync");
        var validation = DeviceInfo.Validation(options);
        using IBackend backend = backendName switch
        {
            "cpu" => new CpuBackend(),
            "gl" => CreateGL(sync, validation),
            _ => throw new ArgumentException($"--backend {backendName}: expected gl or cpu"),
        };

        var train = FashionMnist.LoadTrain();
        if (steps > 0) train = train.Take(Math.Min(train.Count, steps * Batch));
        var loader = new DataLoader(train, Batch, seed: seed, dropLast: true);
        using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed);
        using var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), Batch, LearningRateSchedule.Cosine, (long)epochs * loader.BatchesPerEpoch);
        var clock = Stopwatch.StartNew();
        for (int epoch = 0; epoch < epochs; epoch++) trainer.TrainEpoch(loader, epoch);
        float loss = trainer.Plan.ReadLoss();
        double seconds = clock.Elapsed.TotalSeconds;
        double accuracy = steps > 0 ? double.NaN : Classification.Accuracy(network, FashionMnist.LoadTest());

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string name in network.ParameterNames)
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>(network.Parameter(name).ToArray()));
        var result = new JsonObject
        {
            ["backend"] = backendName,
            ["device"] = backend.DeviceName,
            ["seed"] = seed,
            ["sync"] = sync,
            ["validation"] = validation is null ? null : $"{validation.Order} (seed {validation.Seed})",
            ["steps"] = trainer.Step,
            ["loss"] = loss,
            ["seconds"] = Math.Round(seconds, 1),
            ["imagesPerSecond"] = Math.Round(trainer.Step * Batch / seconds),
            ["weightsSha256"] = Convert.ToHexString(hash.GetHashAndReset()),
        };
        if (!double.IsNaN(accuracy)) result["testAccuracy"] = accuracy;
        return result;
    }

    internal static GLBackend CreateGL(bool sync, GLValidationOptions? validation)
    {
        var device = GLDevice.CreateHeadless();
        device.SynchronousCommands = sync;
        device.Validation = validation;
        return new GLBackend(device, ownsDevice: true);
    }
}
