using System.Reflection;
using System.Runtime.Loader;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// A game that only runs models loads only what that needs: each case runs a <see cref="FootprintProbe"/> method in an
/// assembly load context of its own, where the Runtime and every package load afresh (the test process has long loaded
/// them all), and lists what got loaded there. Predicting from floats or pixels loads neither SixLabors.ImageSharp nor
/// Google.Protobuf; decoding a PNG loads ImageSharp and an ONNX model loads Protobuf, which shows the probe sees loads.
/// </summary>
[NonParallelizable]
public sealed class FootprintTests
{
    SavedLeNet lenet = null!;

    [OneTimeSetUp]
    public void CreateModel() => lenet = new SavedLeNet(seed: 9);

    [OneTimeTearDown]
    public void DeleteModel() => lenet.Dispose();

    const string ImageSharp = "SixLabors.ImageSharp", Protobuf = "Google.Protobuf", Runtime = "NeuroPlugin.Runtime";

    [TestCase(nameof(FootprintProbe.Floats))]
    [TestCase(nameof(FootprintProbe.Pixels))]
    public void InferenceWithoutImagesOrOnnx_LoadsNeitherImageSharpNorProtobuf(string probe)
    {
        var loaded = LoadedBy(probe, lenet.Path);
        Assert.That(loaded, Does.Contain(Runtime).And.Contain("Silk.NET.OpenGL"), "the probe ran the Runtime in its own context");
        Assert.That(loaded, Does.Not.Contain(ImageSharp).And.Not.Contain(Protobuf));
    }

    [Test]
    public void DecodingAPng_LoadsImageSharp_AndAnOnnxModel_Protobuf()
    {
        Assert.That(LoadedBy(nameof(FootprintProbe.Png), lenet.Path), Does.Contain(ImageSharp).And.Not.Contain(Protobuf));
        Assert.That(LoadedBy(nameof(FootprintProbe.Onnx), lenet.Path), Does.Contain(Protobuf));
    }

    /// <summary>The assembly names loaded into a fresh context by running <paramref name="probe"/>(<paramref name="path"/>).</summary>
    static string[] LoadedBy(string probe, string path)
    {
        var context = new ProbeContext(typeof(FootprintProbe).Assembly.Location);
        try
        {
            var tests = context.LoadFromAssemblyPath(typeof(FootprintProbe).Assembly.Location);
            var method = tests.GetType(typeof(FootprintProbe).FullName!)!.GetMethod(probe)!;
            float probability = (float)method.Invoke(null, [path])!;
            Assert.That(probability, Is.InRange(0f, 1f), $"{probe} predicted");
            return [.. context.Assemblies.Select(a => a.GetName().Name!)];
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>Loads the test's dependencies (the Runtime, its packages) afresh from the test's folder; the framework's
    /// assemblies come from the default context.</summary>
    sealed class ProbeContext(string mainAssembly) : AssemblyLoadContext("footprint probe", isCollectible: true)
    {
        readonly AssemblyDependencyResolver resolver = new(mainAssembly);

        protected override Assembly? Load(AssemblyName name) =>
            resolver.ResolveAssemblyToPath(name) is { } path ? LoadFromAssemblyPath(path) : null;
    }
}

/// <summary>What a game does, one way each (run inside <see cref="FootprintTests"/>' own context; nothing here may
/// touch NUnit or the other test helpers).</summary>
public static class FootprintProbe
{
    public static float Floats(string path)
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        return model.Predict(new float[model.InputLength]).Best().Probability;
    }

    public static float Pixels(string path)
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        return model.PredictPixels(new byte[32 * 32 * 4], 32, 32).Best().Probability;
    }

    public static float Png(string path)
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        string png = Path.ChangeExtension(path, ".png");
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(20, 20))
        using (var file = File.Create(png))
            image.Save(file, new SixLabors.ImageSharp.Formats.Png.PngEncoder());
        return model.PredictImage(png).Best().Probability;
    }

    public static float Onnx(string path)
    {
        string onnx = Path.ChangeExtension(path, ".onnx");
        using (var cpu = new Backends.Cpu.CpuBackend())
        using (var network = Serialization.ModelFile.Load(path, cpu, out var metadata))
            Serialization.Onnx.OnnxExporter.Export(network, onnx, metadata);
        using var model = NeuroModel.Load(onnx, NeuroDevice.Cpu);
        return model.Predict(new float[model.InputLength]).Best().Probability;
    }
}
