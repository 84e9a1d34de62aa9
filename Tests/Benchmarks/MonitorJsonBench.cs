using System.Buffers;
using System.Text.Json;
using NeuroPlugin.Data;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Training;

namespace NeuroPlugin.Benchmarks;

/// <summary>
/// <c>neuro-bench monitor-json [repeats] [FILE] [--warm-up]</c>: what one training sample costs to serialize, as a live link's sender and
/// the JSONL writer do it (<see cref="MonitorJson.Write(Utf8JsonWriter, TrainingSample)"/> into a reused buffer). The
/// sample is a real one: <c>Samples/InGameLearning</c>'s network (the zoo's LeNet-5 for 1×32×32 images, 4 classes,
/// batch 16, Adam) after a few CPU steps with the monitor sampling every step. Prints the record's size, the first
/// serialization in this process (just-in-time compilation included, as a game's first sample pays it), then the
/// thread's processor time per sample (median and fastest of rounds: steady under load) and the bytes it allocated;
/// with FILE, writes the record there (one line, as in a <c>--monitor</c> file); with <c>--warm-up</c>, calls
/// <see cref="MonitorJson.WarmUp"/> first and times it and the first serialization after it.
/// </summary>
static class MonitorJsonBench
{
    public static int Run(string[] args)
    {
        bool warm = args.Contains("--warm-up");
        args = [.. args.Where(arg => arg != "--warm-up")];
        int repeats = args.Length > 0 ? int.Parse(args[0]) : 2000;
        var sample = TakeSample();
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using var json = new Utf8JsonWriter(buffer);
        void Serialize()
        {
            buffer.Clear();
            json.Reset(buffer);
            MonitorJson.Write(json, sample);
            json.Flush();
        }

        long first = Stopwatch.GetTimestamp();
        if (warm) MonitorJson.WarmUp();
        double warmUpMs = Stopwatch.GetElapsedTime(first).TotalMilliseconds;
        first = Stopwatch.GetTimestamp();
        Serialize();
        double firstMs = Stopwatch.GetElapsedTime(first).TotalMilliseconds;
        int bytes = buffer.WrittenCount;
        if (args.Length > 1) File.WriteAllBytes(args[1], [.. buffer.WrittenSpan, (byte)'\n']);
        for (int i = 0; i < repeats; i++) Serialize(); // warm-up: the tiered JIT's optimized code

        const int rounds = 20;
        var perSample = new double[rounds];
        long allocated = 0;
        for (int round = 0; round < rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            double start = CpuClock.ThreadSeconds;
            for (int i = 0; i < repeats; i++) Serialize();
            perSample[round] = (CpuClock.ThreadSeconds - start) / repeats * 1e6;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Array.Sort(perSample);
        Console.WriteLine($"monitor-json: InGameLearning's LeNet-5 sample ({sample.Parameters.Count} parameters, {sample.Nodes.Count} nodes, " +
            $"{sample.Parameters[0].Weight.Histogram.Counts.Count} histogram bins): {bytes:N0} bytes of JSON");
        Console.WriteLine(warm ? $"  MonitorJson.WarmUp(): {warmUpMs:0.00} ms; then the first serialization: {firstMs:0.00} ms"
            : $"  first serialization in the process (JIT included): {firstMs:0.00} ms");
        Console.WriteLine($"  per sample, thread processor time over {rounds} rounds of {repeats}: median {perSample[rounds / 2]:0.0} µs, " +
            $"fastest {perSample[0]:0.0} µs; allocated {(double)allocated / (rounds * repeats):0} bytes per sample");
        return 0;
    }

    /// <summary>One sample of the in-game learner's network, trained a few steps on seeded random images.</summary>
    static TrainingSample TakeSample()
    {
        const int size = 32, classes = 4, batch = 16, count = 64;
        var random = new Random(1);
        var images = new byte[count * size * size];
        random.NextBytes(images);
        var labels = Enumerable.Range(0, count).Select(_ => (byte)random.Next(classes)).ToArray();
        var dataset = new ImageDataset("random", images, labels, count, size, size, ["a", "b", "c", "d"]);
        using var backend = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("lenet5", new ModelOptions(InputChannels: 1, ImageSize: size, Classes: classes)), backend, seed: 1);
        using var trainer = new Trainer(network, new Adam(1e-3f), batch);
        using var monitor = TrainingMonitor.Attach(trainer, new MonitorOptions { Every = 1 });
        trainer.TrainEpoch(new DataLoader(dataset, batch, seed: 2, dropLast: true), 0);
        monitor.Flush();
        return monitor.LastSample ?? throw new InvalidOperationException("the monitor delivered no sample");
    }
}
