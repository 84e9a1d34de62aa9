using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Tests.Training;

public class ModelFileTests : CpuTempFolderFixture
{
    /// <summary>LeNet-5 with seed 7's weights on the test's CPU backend.</summary>
    Network LeNet() => Network.Create(ModelZoo.Build("lenet5"), Cpu, seed: 7);

    [Test]
    public void SaveThenLoad_RoundTripsGraphAndWeights()
    {
        using var network = LeNet();
        string path = Folder.Combine("lenet.neuro");
        ModelFile.Save(network, path);
        using var loaded = ModelFile.Load(path, Cpu);
        Assert.That(loaded.ParameterNames, Is.EqualTo(network.ParameterNames));
        foreach (string name in network.ParameterNames)
            Assert.That(loaded.Parameter(name).ToArray(), Is.EqualTo(network.Parameter(name).ToArray()), name);
        Assert.That(loaded.Graph.Nodes.Select(n => n.Layer.ToString()), Is.EqualTo(network.Graph.Nodes.Select(n => n.Layer.ToString())));
        Assert.That(Directory.GetFiles(Folder.Path), Has.Length.EqualTo(1), "no temporary file left behind");
    }

    [Test]
    public void FailedSave_KeepsThePreviousFile()
    {
        using var network = LeNet();
        string path = Folder.Combine("lenet.neuro");
        ModelFile.Save(network, path);
        byte[] before = File.ReadAllBytes(path);
        network.Parameter("fc3.bias").Dispose(); // the save fails while downloading the weights
        Assert.That(() => ModelFile.Save(network, path), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(Folder.Path), Has.Length.EqualTo(1), "the temporary file is removed");
    }

    [TestCase("fc3.bias", "used twice")]
    [TestCase("__metadata__", "reserved")]
    public void SaveWithAClashingTensorName_FailsAndKeepsThePreviousFile(string clash, string problem)
    {
        using var network = LeNet();
        string path = Folder.Combine("lenet.neuro");
        ModelFile.Save(network, path);
        byte[] before = File.ReadAllBytes(path);
        var bias = network.Parameter("fc3.bias");
        var error = Assert.Throws<ArgumentException>(() => SafeTensorsContainer.Write(path, new JsonObject(), [("fc3.bias", bias), (clash, bias)]));
        Assert.That(error!.Message, Does.Contain(path).And.Contain($"'{clash}' is {problem}"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(Folder.Path), Has.Length.EqualTo(1), "no temporary file");
    }

    static IEnumerable<TestCaseData> CorruptFiles()
    {
        yield return new TestCaseData(new Func<byte[], byte[]>(b => b[..5]), "truncated").SetName("Truncated length");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => b[..(b.Length - 10)]), "data_offsets").SetName("Truncated data");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => { var c = (byte[])b.Clone(); BinaryPrimitives.WriteUInt64LittleEndian(c, ulong.MaxValue); return c; }), "header length").SetName("Hostile header length");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => { var c = (byte[])b.Clone(); c[8] = (byte)'x'; return c; }), "not valid JSON").SetName("Corrupt JSON");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => Replace(b, $"\"version\":\"{ModelFile.FormatVersion}\"", "\"version\":\"9\"")), "__metadata__.version 9 is not supported").SetName("Future version");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => Replace(b, "\"format\":\"neuro\",", "\"format\":\"neuro\",\"format\":\"neuro\",")), "not valid JSON").SetName("Duplicate header key");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => Replace(b, "\\u0022type\\u0022:\\u0022Conv2d\\u0022", "\\u0022type\\u0022:\\u0022Conv2d\\u0022,\\u0022type\\u0022:\\u0022Conv2d\\u0022")), "__metadata__.graph").SetName("Duplicate graph key");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => Replace(b, "\"F32\"", "\"F16\"")), "dtype").SetName("Wrong dtype");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => Replace(b, "[6,1,5,5]", "[6,1,5,4]")), "conv1.weight.shape").SetName("Wrong shape");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => Replace(b, "\\u0022Conv2d\\u0022", "\\u0022Conv9d\\u0022")), "unknown layer type 'Conv9d'").SetName("Unknown layer");
        yield return new TestCaseData(new Func<byte[], byte[]>(b => [.. b, 1, 2, 3, 4]), "bytes after the last tensor").SetName("Trailing bytes");
    }

    [TestCaseSource(nameof(CorruptFiles))]
    public void CorruptFile_RaisesModelFileExceptionNamingFileAndField(Func<byte[], byte[]> corrupt, string problem)
    {
        using var network = LeNet();
        string path = Folder.Combine("bad.neuro");
        ModelFile.Save(network, path);
        File.WriteAllBytes(path, corrupt(File.ReadAllBytes(path)));
        var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, Cpu));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain(problem));
    }

    static byte[] Replace(byte[] file, string from, string to)
    {
        // edits inside the JSON header keep its length by padding, so the offsets stay valid
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        string header = Encoding.UTF8.GetString(file, 8, headerLength);
        Assert.That(header, Does.Contain(from), "test setup: text to replace");
        string edited = header.Replace(from, to);
        var result = new List<byte>();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)Encoding.UTF8.GetByteCount(edited));
        result.AddRange(length);
        result.AddRange(Encoding.UTF8.GetBytes(edited));
        result.AddRange(file.AsSpan(8 + headerLength).ToArray());
        return [.. result];
    }
}
