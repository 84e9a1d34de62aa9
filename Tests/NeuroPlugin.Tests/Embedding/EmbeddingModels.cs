namespace NeuroPlugin.Tests.Embedding;

/// <summary>The models and references the embedding tests share: LeNet-5 with seeded weights, described as a
/// Fashion-MNIST classifier, and what the runtime's own plan and a softmax in double say it outputs.</summary>
static class EmbeddingModels
{
    /// <summary>Fashion-MNIST's normalization, as <c>neuro train</c> writes it.</summary>
    public static readonly InputNormalization FashionNormalization = new([FashionMnist.PixelMean], [FashionMnist.PixelStd]);

    /// <summary>The description <c>neuro train</c> writes for LeNet-5 on Fashion-MNIST (without provenance).</summary>
    public static ModelMetadata LeNetMetadata(NetworkGraph graph) => new()
    {
        Input = InputSpecification.FromGraph(graph),
        Normalization = FashionNormalization,
        Labels = [.. FashionMnist.ClassNames],
    };

    /// <summary>Saves LeNet-5 (seeded weights) with <see cref="LeNetMetadata"/> to <paramref name="folder"/>.</summary>
    public static string SaveLeNet(string folder, int seed = 5, ModelMetadata? metadata = null)
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed);
        string path = Path.Combine(folder, $"lenet5-{seed}.neuro");
        ModelFile.Save(network, path, metadata ?? LeNetMetadata(network.Graph));
        return path;
    }

    /// <summary>The network's outputs for <paramref name="count"/> items of <paramref name="input"/>, from a plan of its own.</summary>
    public static float[] Outputs(Network network, float[] input, int count)
    {
        using var plan = ExecutionPlan.ForInference(network, count);
        plan.Input.Upload(input);
        plan.Forward();
        return plan.Output.ToArray();
    }

    /// <summary><c>exp(z − max z) / Σ exp(z − max z)</c> per row of <paramref name="classes"/>, in double.</summary>
    public static float[] Softmax(float[] logits, int classes)
    {
        var p = new float[logits.Length];
        for (int row = 0; row < logits.Length / classes; row++)
        {
            var z = logits.AsSpan(row * classes, classes);
            double max = z.ToArray().Max(), sum = z.ToArray().Sum(v => Math.Exp(v - max));
            for (int k = 0; k < classes; k++) p[row * classes + k] = (float)(Math.Exp(z[k] - max) / sum);
        }
        return p;
    }

    /// <summary>Seeded values in [−2, 2), like normalized pixels.</summary>
    public static float[] Inputs(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2))];
    }

    /// <summary>Seeded RGBA8 pixels (alpha 255).</summary>
    public static byte[] Pixels(int width, int height, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 4];
        random.NextBytes(pixels);
        for (int p = 3; p < pixels.Length; p += 4) pixels[p] = 255;
        return pixels;
    }

    /// <summary>A temporary folder deleted by the returned handle.</summary>
    public static TempFolder Folder() => new("neuro-embed");

    /// <summary>A LeNet-5 model file (<see cref="SaveLeNet"/>) in a folder of its own that goes with it: a fixture's model,
    /// made in its one-time set-up and disposed in its one-time tear-down.</summary>
    public sealed class SavedLeNet : IDisposable
    {
        readonly TempFolder folder = Folder();

        public SavedLeNet(int seed) => Path = SaveLeNet(folder.Path, seed);

        /// <summary>The model file.</summary>
        public string Path { get; }

        public void Dispose() => folder.Dispose();
    }

    /// <summary>The exception <paramref name="action"/> throws, or null.</summary>
    public static Exception? Catch(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Asserts that README's first <c>csharp</c> block after <paramref name="heading"/> has at most 20 lines and is
    /// <c>using NeuroPlugin;</c>, a blank line, and the lines of <paramref name="sourceFile"/> (the calling test's file)
    /// between the last <paramref name="begin"/> and <paramref name="end"/> markers, unindented by 8 spaces.</summary>
    public static void AssertReadmeBlockIs(string heading, string begin, string end, [System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        string readme = File.ReadAllText(Path.Combine(ModelMetadataTests.RepositoryRoot(), "README.md"));
        int section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThanOrEqualTo(0), $"README has the section '{heading}'");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        string block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.That(block.Split('\n', StringSplitOptions.None).Length - 1, Is.LessThanOrEqualTo(20), "at most 20 lines");

        string source = File.ReadAllText(sourceFile);
        int from = source.LastIndexOf(begin, StringComparison.Ordinal) + begin.Length + 1, to = source.LastIndexOf(end, StringComparison.Ordinal);
        string region = string.Join("\n", source[from..to].Split('\n').Select(line => line.Length >= 8 ? line[8..] : line.TrimStart()));
        Assert.That(block, Is.EqualTo("using NeuroPlugin;\n\n" + region));
    }
}
