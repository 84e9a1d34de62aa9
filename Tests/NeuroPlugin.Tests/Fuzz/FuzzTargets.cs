using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>
/// The readers under fuzzing, each with seed files that it reads without error and the mutations that know their
/// structure: <c>.neuro</c> models (<see cref="ModelFile.Load"/>), training checkpoints (<see cref="TrainingCheckpoint.Read"/>
/// and the objects it rebuilds), ONNX (<see cref="OnnxImporter.Convert(string)"/> and the network it makes), <c>.npy</c>
/// (<see cref="Npy.Read(string)"/>), IDX labels and images (<see cref="IdxReader"/>, raw and gzip), and PNG/JPEG
/// through an image folder (<see cref="ImageFolder.Load"/>). Seeds are made by this code's writers (so they follow the
/// format as it is now) or taken from committed files (PyTorch's ONNX exports, PIL's PNG and JPEG variants).
/// </summary>
static class FuzzTargets
{
    public static readonly string[] Names = ["model", "checkpoint", "onnx", "npy", "idx-labels", "idx-images", "image"];

    /// <summary>Inputs per reader in the test suite's slice (the recorded runs use 100 000: Tests/Fuzz/run.sh).</summary>
    public static int SliceInputs(string name) => name switch
    {
        "checkpoint" or "onnx" => 1500,
        _ => 2000,
    };

    /// <summary>The largest batch size the checkpoint target builds a trainer for (see there).</summary>
    const int MaxTrainerBatch = 256;

    /// <summary>Committed corpora and regression files, copied beside the tests from Tests/Fuzz.</summary>
    public static string Folder(string part) => Path.Combine(AppContext.BaseDirectory, "Fuzz", part);

    public static FuzzTarget Create(string name, IBackend cpu) => name switch
    {
        "model" => new(name, ModelSeeds(), SafeTensorsMutations.All, _ => "input.neuro", path =>
        {
            using var network = ModelFile.Load(path, cpu);
            return $"model of {network.Graph.Nodes.Count} nodes, {network.ParameterNames.Count} parameters";
        }, e => e is ModelFileException),
        "checkpoint" => new(name, CheckpointSeeds(cpu), SafeTensorsMutations.All, _ => "input.ckpt.neuro", path =>
        {
            var checkpoint = TrainingCheckpoint.Read(path);
            using var network = checkpoint.CreateNetwork(cpu);
            // A trainer plans activations for the file's batch size: memory the file's graph and batch declare, which a
            // caller of CreateTrainer asks for, not the reader's to bound (Read only checks that the shapes are
            // representable). Up to MaxTrainerBatch (the seeds use 16) it is built; a run with augmentation resumes
            // with its own pipeline (the file names its transforms, not their settings): its optimizer is restored.
            if (checkpoint.AugmentationDescription is null && checkpoint.Counters.BatchSize <= MaxTrainerBatch)
                checkpoint.CreateTrainer(network, checkpoint.Counters.Schedule == "cosine" ? LearningRateSchedule.Cosine : null).Dispose();
            else
            {
                using var optimizer = checkpoint.CreateOptimizer();
                checkpoint.RestoreOptimizer(optimizer, [.. network.ParameterNames.Select(network.Parameter)]);
            }
            return $"checkpoint of {checkpoint.OptimizerType} at step {checkpoint.Counters.Step}";
        }, e => e is ModelFileException),
        "onnx" => new(name, OnnxSeeds(cpu), ProtobufMutations.All, _ => "input.onnx", path =>
        {
            var imported = OnnxImporter.Convert(path);
            using var network = imported.CreateNetwork(cpu);
            return $"onnx opset {imported.Opset}, {imported.Graph.Nodes.Count} nodes";
        }, e => e is OnnxException),
        "npy" => new(name, NpySeeds(), ArrayFileMutations.Npy, _ => "input.npy", path =>
        {
            var (shape, _) = Npy.Read(path);
            return $"npy of rank {shape.Length}";
        }, e => e is NpyException),
        "idx-labels" => new(name, IdxSeeds(), ArrayFileMutations.Idx, IdxName, path => $"{IdxReader.ReadLabels(path).Length} labels", e => e is DatasetException),
        "idx-images" => new(name, IdxSeeds(), ArrayFileMutations.Idx, IdxName, path =>
        {
            var images = IdxReader.ReadImages(path);
            return $"{images.Count} images of {images.Height}×{images.Width}";
        }, e => e is DatasetException),
        "image" => new(name, ImageSeeds(), [.. ImageMutations.Png, .. ImageMutations.Jpeg], ImageName, path =>
        {
            var split = ImageFolder.Load(Path.GetDirectoryName(Path.GetDirectoryName(path))!, new ImageFolderOptions { ImageSize = 8, Channels = 3, TestFraction = 0 });
            return $"{split.Train.Count} image";
        }, e => e is DatasetException),
        _ => throw new ArgumentException($"no fuzz target '{name}'", nameof(name)),
    };

    static string IdxName(byte[] bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b ? "input-idx-ubyte.gz" : "input-idx-ubyte";

    static string ImageName(byte[] bytes) => bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8 ? "input.jpg" : "input.png";

    // ── seeds ──

    /// <summary>Runs <paramref name="write"/> on a temporary path and returns the bytes it wrote.</summary>
    static byte[] Written(Action<string> write, string extension)
    {
        string path = Path.Combine(Path.GetTempPath(), $"neuro-fuzz-seed-{Guid.NewGuid():N}{extension}");
        try
        {
            write(path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A branching CNN: residual add, concatenation, resize, adaptive and global pooling, softmax.</summary>
    static NetworkGraph Branching()
    {
        var graph = new NetworkGraph();
        string input = graph.AddInput("input", new TensorShape(2, 6, 6));
        string a = graph.Add("conv_a", new Conv2d(2, 2, kernelSize: 3, padding: 1), input);
        string b = graph.Add("act_b", Activation.LeakyReLU(0.1f), graph.Add("conv_b", new Conv2d(2, 2, kernelSize: 1), input));
        string sum = graph.Add("sum", new Add(), a, b);
        string both = graph.Add("cat", new Concat(), sum, input);
        string up = graph.Add("up", new Upsample(9, 9), both);
        string pooled = graph.Add("adaptive", new AdaptiveAvgPool2d(3, 3), up);
        string norm = graph.Add("lrn", new LocalResponseNorm(3), pooled);
        string global = graph.Add("global", new GlobalAvgPool2d(), norm);
        string fc = graph.Add("fc", new Linear(4, 2), graph.Add("flatten", new Flatten(), global));
        graph.Add("softmax", new Softmax(), fc);
        return graph;
    }

    static List<byte[]> ModelSeeds()
    {
        var seeds = new List<byte[]> { File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ModelFile", "v1_tiny.neuro")) };
        using var cpu = new Backends.Cpu.CpuBackend();
        foreach (var graph in new[] { CheckpointRuns.Graph(), Branching() })
        {
            using var network = Network.Create(graph, cpu, seed: 1);
            seeds.Add(Written(path => ModelFile.Save(network, path), ".neuro"));
        }
        return seeds;
    }

    /// <summary>Checkpoints of two-step runs of <see cref="CheckpointRuns.Graph"/> on random images, one per optimizer (with its
    /// hyper-parameter variants: clipping, a regularizer, a weight-decay group), with and without data loader and
    /// augmentation, and one saved before the first step.</summary>
    static List<byte[]> CheckpointSeeds(IBackend cpu)
    {
        var random = new Random(5);
        var pixels = new byte[48 * 28 * 28];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, 48).Select(i => (byte)(i % 10)).ToArray();
        var data = new ImageDataset("fuzz", pixels, labels, 48, 28, 28, [.. Enumerable.Range(0, 10).Select(i => $"class {i}")]);
        Optimizer[] optimizers =
        [
            new Sgd(0.05f, 0.9f, weightDecay: 1e-4f), new Sgd(0.05f), new Adam(0.002f), new AdamW(0.002f) { ClipGradientNorm = 1f },
            new RmsProp(0.001f, momentum: 0.5f) { Regularizer = Regularizer.Create(1e-4f, 1e-3f) }, new AdaGrad(0.01f) { WeightDecayParameters = ParameterGroup.Weights },
        ];
        var seeds = new List<byte[]>();
        for (int k = 0; k < optimizers.Length; k++)
        {
            var loader = new DataLoader(data, 16, shuffle: true, seed: k, dropLast: true);
            using var augmentation = k % 2 == 0 ? Augmentation.Parse("flip,cutout", 28, k) : null;
            using var network = Network.Create(CheckpointRuns.Graph(), cpu, seed: k);
            using var trainer = new Trainer(network, optimizers[k], 16, k == 2 ? LearningRateSchedule.Cosine : null, 6) { Augmentation = augmentation };
            if (k == 1) seeds.Add(Written(path => TrainingCheckpoint.Save(trainer, path), ".ckpt.neuro"));
            trainer.StepCompleted = t =>
            {
                if (t.Step == 2) seeds.Add(Written(path => TrainingCheckpoint.Save(t, path, k == 3 ? null : loader), ".ckpt.neuro"));
            };
            trainer.TrainEpoch(loader, 0);
        }
        return seeds;
    }

    static List<byte[]> OnnxSeeds(IBackend cpu)
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Onnx", "Fixtures");
        var seeds = new[] { "conv_pool_activations_opset11", "conv_pool_activations_opset17", "hard_activations_opset9", "hard_activations_opset14",
                "interpolations_opset11", "interpolations_opset13", "residual_se_opset7", "residual_se_opset13", "zoo_resnet_googlenet_blocks", "zoo_densenet_g8" }
            .Select(name => File.ReadAllBytes(Path.Combine(fixtures, name + ".onnx"))).ToList();
        // opsets 18–21: GroupNormalization's two forms, Gelu, Split's num_outputs and Pad's axes input
        string[] recent = ["group_normalization_per_group_opset18", "group_normalization_per_channel_opset21", "gelu_tanh_opset20",
            "split_num_outputs_uneven_opset18", "pad_axes_input_then_conv_opset18"];
        seeds.AddRange(Onnx.OnnxOpset18To21Tests.Cases.Where(c => recent.Contains(c.Name)).Select(Onnx.OnnxOpTests.ModelBytes));
        foreach (var graph in new[] { CheckpointRuns.Graph(), Branching() })
        {
            using var network = Network.Create(graph, cpu, seed: 1);
            seeds.Add(Written(path => OnnxExporter.Export(network, path), ".onnx"));
        }
        return seeds;
    }

    static List<byte[]> NpySeeds()
    {
        var seeds = new List<byte[]>();
        foreach (int[] shape in new[] { new[] { 3 }, [2, 3], [1, 1, 4, 4], [0], [] })
        {
            var values = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => i * 0.5f).ToArray();
            seeds.Add(Written(path => Npy.Write(path, shape, values), ".npy"));
        }
        // version 2.0 and 3.0: the same array, with a 4-byte header length
        byte[] v1 = seeds[1];
        int length = v1[8] | v1[9] << 8;
        foreach (byte major in new byte[] { 2, 3 })
            seeds.Add([.. v1.AsSpan(0, 6), major, 0, (byte)length, (byte)(length >> 8), 0, 0, .. v1.AsSpan(10)]);
        return seeds;
    }

    static List<byte[]> IdxSeeds()
    {
        byte[] labels = [0, 0, 8, 1, 0, 0, 0, 5, 3, 1, 4, 1, 5];
        var images = new byte[16 + 3 * 4 * 5];
        images[2] = 8;
        images[3] = 3;
        images[7] = 3;
        images[11] = 4;
        images[15] = 5;
        for (int i = 16; i < images.Length; i++) images[i] = (byte)(i * 7);
        return [labels, images, ArrayFileMutations.Gzip(labels), ArrayFileMutations.Gzip(images)];
    }

    static List<byte[]> ImageSeeds() =>
        [.. Directory.GetFiles(Folder("Corpus/image")).Where(f => f.EndsWith(".png") || f.EndsWith(".jpg")).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];
}
