using NeuroPlugin.Backends.Cpu;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>
/// Issue 16, "every reader fuzzed": each reader's seeds read cleanly; a seeded slice of its campaign
/// (<see cref="FuzzTargets.SliceInputs"/> inputs; <c>NEURO_FUZZ_INPUTS</c> and <c>NEURO_FUZZ_SEED</c> change it, as
/// Tests/Fuzz/run.sh does for the recorded 100 000-input runs; <c>NEURO_FUZZ_ONLY=model,onnx</c> picks readers) ends every input in a result or a typed error naming the
/// file, within 2 s and 256 MiB; and every committed regression file (Tests/Fuzz/Regressions/&lt;reader&gt;, each an input
/// that once broke a rule) still does. Failing inputs are saved under <c>NEURO_FUZZ_FINDINGS</c> (default
/// <c>fuzz-findings</c> beside the tests). Runs alone: the memory figures are the process's.
/// </summary>
[NonParallelizable]
public sealed class FuzzTests
{
    static IEnumerable<string> Targets => FuzzTargets.Names;

    static CpuBackend cpu = null!;

    [OneTimeSetUp]
    public void CreateBackend() => cpu = new CpuBackend();

    [OneTimeTearDown]
    public void DisposeBackend() => cpu.Dispose();

    [TestCaseSource(nameof(Targets))]
    public void Seeds_AreReadWithoutError(string name)
    {
        var target = FuzzTargets.Create(name, cpu);
        Assert.That(target.Seeds, Is.Not.Empty);
        string folder = Path.Combine(Path.GetTempPath(), $"neuro-fuzz-seeds-{Guid.NewGuid():N}", "c");
        Directory.CreateDirectory(folder);
        try
        {
            for (int k = 0; k < target.Seeds.Count; k++)
            {
                string path = Path.Combine(folder, target.FileName(target.Seeds[k]));
                File.WriteAllBytes(path, target.Seeds[k]);
                if (name.StartsWith("idx", StringComparison.Ordinal) && IsOtherIdxKind(name, target.Seeds[k])) continue;
                Assert.DoesNotThrow(() => target.Read(path), $"{name} seed {k}");
                File.Delete(path);
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    /// <summary>The IDX campaigns share their seeds (labels and images, raw and gzip); each reads only its own kind.</summary>
    static bool IsOtherIdxKind(string name, byte[] seed)
    {
        byte[] raw = seed[0] == 0x1f ? Decompress(seed) : seed;
        return (raw[3] == 1) != (name == "idx-labels");
    }

    static byte[] Decompress(byte[] gzip)
    {
        using var stream = new System.IO.Compression.GZipStream(new MemoryStream(gzip), System.IO.Compression.CompressionMode.Decompress);
        var output = new MemoryStream();
        stream.CopyTo(output);
        return output.ToArray();
    }

    [TestCaseSource(nameof(Targets))]
    public void SeededSlice_EndsInResultsOrTypedErrorsNamingTheFile(string name)
    {
        if (Environment.GetEnvironmentVariable("NEURO_FUZZ_ONLY") is { Length: > 0 } only && !only.Split(',').Contains(name))
            Assert.Ignore($"NEURO_FUZZ_ONLY={only}");
        long inputs = long.TryParse(Environment.GetEnvironmentVariable("NEURO_FUZZ_INPUTS"), out long n) ? n : FuzzTargets.SliceInputs(name);
        int seed = int.TryParse(Environment.GetEnvironmentVariable("NEURO_FUZZ_SEED"), out int s) ? s : 1;
        string findings = Environment.GetEnvironmentVariable("NEURO_FUZZ_FINDINGS") ?? Path.Combine(TestContext.CurrentContext.WorkDirectory, "fuzz-findings");
        var summary = FuzzCampaign.Run(FuzzTargets.Create(name, cpu), seed, inputs, findings, line => TestContext.Progress.WriteLine(line));
        TestContext.Progress.WriteLine(summary.ToString());
        if (Environment.GetEnvironmentVariable("NEURO_FUZZ_REPORT") is { Length: > 0 } report)
            File.AppendAllText(report, summary.ToJson() + Environment.NewLine);
        Assert.That(summary.Failures, Is.Empty, () => $"{summary}\n" + string.Join("\n\n", summary.Failures.Take(5).Select(f => $"input {f.Index} ({f.Kind}), saved as {f.SavedAs}: {f.Detail}")));
        Assert.That(summary.Inputs, Is.EqualTo(inputs));
        Assert.That(summary.Results, Is.GreaterThan(0), "some mutated inputs are still valid files (the mutations are not all fatal)");
        Assert.That(summary.DistinctOutcomes, Is.GreaterThan(10), "the inputs reach many different checks");
    }

    [TestCaseSource(nameof(Targets))]
    public void Regressions_EndInResultsOrTypedErrorsNamingTheFile(string name)
    {
        string folder = FuzzTargets.Folder(Path.Combine("Regressions", name));
        if (!Directory.Exists(folder)) Assert.Pass($"no regression files for {name}");
        var problems = FuzzCampaign.Check(FuzzTargets.Create(name, cpu), Directory.GetFiles(folder).Order(StringComparer.Ordinal));
        Assert.That(problems, Is.Empty);
    }
}
