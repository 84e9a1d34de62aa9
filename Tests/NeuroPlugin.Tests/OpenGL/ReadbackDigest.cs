using System.Security.Cryptography;
using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// With <c>NEURO_GL_DIGEST=FILE</c>, a SHA-256 per test over the bits of every value the shared GL backend reads back,
/// written to FILE when the GL tests end ("test name, downloads, digest" per line, sorted). Tests/Gpu/validate.sh runs
/// the GL suite in normal and in validation mode and compares the files: validation mode must change no bit.
/// </summary>
static class ReadbackDigest
{
    const string EnvironmentVariable = "NEURO_GL_DIGEST";
    static readonly Dictionary<string, (IncrementalHash Hash, int Downloads)> tests = new(StringComparer.Ordinal);

    public static void Attach(GLBackend backend)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable))) return;
        backend.Downloaded = Record;
    }

    static void Record(Tensor tensor, ReadOnlySpan<float> values)
    {
        string test = TestContext.CurrentContext.Test.FullName;
        if (!tests.TryGetValue(test, out var entry)) entry = (IncrementalHash.CreateHash(HashAlgorithmName.SHA256), 0);
        entry.Hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        tests[test] = (entry.Hash, entry.Downloads + 1);
    }

    public static void Write()
    {
        string? path = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(path)) return;
        var lines = tests.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => $"{t.Key}\t{t.Value.Downloads}\t{Convert.ToHexString(t.Value.Hash.GetHashAndReset())}");
        File.WriteAllLines(path, lines);
    }
}
