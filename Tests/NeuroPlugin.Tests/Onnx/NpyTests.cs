namespace NeuroPlugin.Tests.Onnx;

/// <summary>The .npy reader and writer: round trips, NumPy's own files (the fixtures), and hostile headers.</summary>
public sealed class NpyTests
{
    string path = "";

    [SetUp]
    public void Name() => path = Path.Combine(Path.GetTempPath(), $"neuro-npy-{Guid.NewGuid():N}.npy");

    [TearDown]
    public void Delete() => File.Delete(path);

    [TestCase(new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 7 })]
    [TestCase(new[] { 0, 3 })]
    public void RoundTrip(int[] shape)
    {
        float[] values = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => i * 0.25f - 3f).ToArray();
        Npy.Write(path, shape, values);
        Assert.That((File.ReadAllBytes(path).Length - values.Length * 4) % 64, Is.Zero, "header padded to 64 bytes as NumPy does");
        var (readShape, readValues) = Npy.Read(path);
        Assert.That(readShape, Is.EqualTo(shape));
        Assert.That(readValues, Is.EqualTo(values));
    }

    [Test]
    public void ReadsNumPysFiles()
    {
        var (shape, values) = Npy.Read(OnnxRun.FixturePath("lenet5.input.npy"));
        Assert.That(shape, Is.EqualTo(new[] { 2, 1, 28, 28 }));
        Assert.That(values, Has.Length.EqualTo(2 * 28 * 28));
        Assert.That(values.All(float.IsFinite), Is.True);
    }

    static byte[] File1(string header, int dataBytes)
    {
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([1, 0, (byte)header.Length, (byte)(header.Length >> 8)]);
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        bytes.AddRange(new byte[dataBytes]);
        return [.. bytes];
    }

    [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype '<f8'")]
    [TestCase("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype '>f4'")]
    [TestCase("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, "Fortran")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, "needs 12")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12, "needs 8")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }", 8, "more than")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "not a dict")]
    [TestCase("{'descr': '<f4', 'shape': (2,), }", 8, "no 'fortran_order'")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), '__import__': 1}", 8, "not a dict")]
    [TestCase("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, "twice")]
    public void BadHeaders(string header, int dataBytes, string expected)
    {
        File.WriteAllBytes(path, File1(header, dataBytes));
        var e = Assert.Throws<NpyException>(() => Npy.Read(path))!;
        Assert.That(e.Message, Does.StartWith(path).And.Contain(expected));
    }

    [Test]
    public void NotNpy_TruncatedAndHugeHeader()
    {
        File.WriteAllBytes(path, "hello world"u8.ToArray());
        Assert.That(Assert.Throws<NpyException>(() => Npy.Read(path))!.Message, Does.Contain("magic"));
        File.WriteAllBytes(path, File1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8)[..20]);
        Assert.That(Assert.Throws<NpyException>(() => Npy.Read(path))!.Message, Does.Contain("truncated"));
        byte[] huge = File1("{}", 0);
        huge[6] = 2; // version 2: a u32 header length
        huge[8] = 0xFF; huge[9] = 0xFF; huge.AsSpan(10).Fill(0xFF);
        File.WriteAllBytes(path, huge);
        Assert.That(Assert.Throws<NpyException>(() => Npy.Read(path))!.Message, Does.Contain("exceeds"));
    }
}
