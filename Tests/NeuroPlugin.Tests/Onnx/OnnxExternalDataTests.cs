using System.Buffers.Binary;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>Initializers in external-data files: read when they stay inside the model's folder, rejected otherwise.</summary>
public sealed class OnnxExternalDataTests
{
    string folder = "";

    [SetUp]
    public void CreateFolder()
    {
        folder = Path.Combine(Path.GetTempPath(), $"neuro-onnx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(folder, "model"));
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(folder, recursive: true);

    /// <summary>A Gemm model whose weight (3×4 floats) lives in an external file at <paramref name="location"/>.</summary>
    string Model(string location, long offset = 0, long? length = null)
    {
        var b = new OnnxBuilder().Input("x", 4).Output("y");
        var weight = new TensorProto { Name = "fc.weight", DataType = 1, DataLocation = 1 };
        weight.Dims.AddRange([3, 4]);
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        weight.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        if (length is long l) weight.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString() });
        b.Graph.Initializer.Add(weight);
        b.Node("Gemm", ["x", "fc.weight"], "y", OnnxBuilder.Int("transB", 1));
        string path = Path.Combine(folder, "model", "model.onnx");
        File.WriteAllBytes(path, b.Bytes());
        return path;
    }

    static void WriteWeights(string path, int padding = 0)
    {
        var bytes = new byte[padding + 48];
        for (int i = 0; i < 12; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(padding + 4 * i), i);
        File.WriteAllBytes(path, bytes);
    }

    [Test]
    public void InsideTheFolder_IsRead()
    {
        Directory.CreateDirectory(Path.Combine(folder, "model", "data"));
        WriteWeights(Path.Combine(folder, "model", "data", "w.bin"), padding: 16);
        var imported = OnnxImporter.Convert(Model("data/w.bin", offset: 16, length: 48));
        Assert.That(imported.State["fc.weight"], Is.EqualTo(Enumerable.Range(0, 12).Select(i => (float)i).ToArray()));
    }

    [TestCase("../w.bin", "leaves the model's folder")]
    [TestCase("data/../../w.bin", "leaves the model's folder")]
    [TestCase("/etc/passwd", "must be a relative path")]
    [TestCase("C:/w.bin", "must be a relative path")]
    [TestCase("missing.bin", "does not exist")]
    public void Escapes_AndMissingFiles_AreRejected(string location, string expected)
    {
        WriteWeights(Path.Combine(folder, "w.bin"));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Convert(Model(location)))!;
        Assert.That(e.Message, Does.Contain("tensor 'fc.weight': external data").And.Contain(expected));
    }

    [Test]
    public void LinkLeadingOutOfTheFolder_IsRejected()
    {
        WriteWeights(Path.Combine(folder, "w.bin"));
        File.CreateSymbolicLink(Path.Combine(folder, "model", "link.bin"), Path.Combine(folder, "w.bin"));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Convert(Model("link.bin")))!;
        Assert.That(e.Message, Does.Contain("link leading out"));
    }

    [TestCase(40, null, "lies outside")]
    [TestCase(0, 44L, "does not match")]
    public void RangesOutsideTheFile_AreRejected(long offset, long? length, string expected)
    {
        WriteWeights(Path.Combine(folder, "model", "w.bin"));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Convert(Model("w.bin", offset, length)))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void FromMemory_ExternalDataIsAnError()
    {
        string path = Model("w.bin");
        using var cpu = new CpuBackend();
        var e = Assert.Throws<OnnxFormatException>(() => OnnxRun.Import(File.ReadAllBytes(path), cpu))!;
        Assert.That(e.Message, Does.Contain("not loaded from a file"));
    }
}
