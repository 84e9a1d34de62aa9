using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Serialization;

namespace NeuroPlugin.Tests.Training;

/// <summary>
/// Format migrations. <c>Fixtures/ModelFile/v1_tiny.neuro</c> was written by the code of format version 1 (the commit
/// before version 2; its generator is <c>generate_v1_tiny.cs.txt</c> beside it): conv → batch norm (running statistics
/// set to other than their defaults) → ReLU → max pool → linear, with the exact float bits of every tensor in
/// <c>v1_tiny.json</c>.
/// </summary>
public class ModelFileMigrationTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "ModelFile", name);

    [Test]
    public void Version1File_LoadsThroughTheMigration_WithIdenticalWeights()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Fixture("v1_tiny.json")));
        var expected = document.RootElement.GetProperty("tensors");
        Assert.That(SafetensorsBytes.Read(Fixture("v1_tiny.neuro")).Header["__metadata__"]!["version"]!.GetValue<string>(), Is.EqualTo("1"), "the fixture is a v1 file");

        using var network = ModelFile.Load(Fixture("v1_tiny.neuro"), new CpuBackend());
        var names = network.ParameterNames.Concat(network.BufferNames).ToList();
        Assert.That(names, Is.EquivalentTo(expected.EnumerateObject().Select(p => p.Name)));
        foreach (string name in names)
        {
            var tensor = network.BufferNames.Contains(name) ? network.Buffer(name) : network.Parameter(name);
            var entry = expected.GetProperty(name);
            Assert.That(tensor.Shape.ToArray(), Is.EqualTo(entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())), name);
            Assert.That(CheckpointRuns.Bits(tensor.ToArray()), Is.EqualTo(entry.GetProperty("bits").EnumerateArray().Select(b => b.GetInt32())), name);
        }
        Assert.That(network.Buffer("bn1.running_var").ToArray(), Is.EqualTo(new[] { 1.5f, 0.25f, 2f, 0.875f }));
    }

    [Test]
    public void Version1Metadata_IsUpgradedStepByStep()
    {
        var metadata = new JsonObject { ["format"] = "neuro", ["version"] = "1", ["graph"] = "{}" };
        int from = ModelFileMigrations.Upgrade("x.neuro", metadata);
        Assert.That(from, Is.EqualTo(1));
        Assert.That((string?)metadata["version"], Is.EqualTo(ModelFile.FormatVersion.ToString()));
        Assert.That((string?)metadata["kind"], Is.EqualTo("model"));
        Assert.That((string?)metadata["graph"], Is.EqualTo("{}"), "the graph is untouched");
    }

    [Test]
    public void ResavedVersion1File_IsCurrentAndEqual()
    {
        var cpu = new CpuBackend();
        string path = Path.Combine(Path.GetTempPath(), $"neuro-migrated-{Guid.NewGuid():N}.neuro");
        try
        {
            using var old = ModelFile.Load(Fixture("v1_tiny.neuro"), cpu);
            ModelFile.Save(old, path);
            Assert.That((string?)SafetensorsBytes.Read(path).Header["__metadata__"]!["version"], Is.EqualTo(ModelFile.FormatVersion.ToString()));
            using var again = ModelFile.Load(path, cpu);
            foreach (string name in old.ParameterNames)
                Assert.That(CheckpointRuns.Bits(again.Parameter(name).ToArray()), Is.EqualTo(CheckpointRuns.Bits(old.Parameter(name).ToArray())), name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("99", "__metadata__.version 99 is not supported: this build reads versions 1 to 3")]
    [TestCase("0", "__metadata__.version '0' is not a format version")]
    [TestCase("two", "__metadata__.version 'two' is not a format version")]
    public void UnreadableVersion_RaisesModelFileExceptionNamingFileAndVersionField(string version, string problem)
    {
        string path = Path.Combine(Path.GetTempPath(), $"neuro-version-{Guid.NewGuid():N}.neuro");
        try
        {
            File.Copy(Fixture("v1_tiny.neuro"), path);
            SafetensorsBytes.EditHeader(path, header => header["__metadata__"]!["version"] = version);
            var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, new CpuBackend()));
            Assert.That(error!.Message, Does.StartWith(path).And.Contain(problem));
            Assert.That(error.FilePath, Is.EqualTo(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
