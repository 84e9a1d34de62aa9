namespace NeuroPlugin.Tests.TestSupport;

/// <summary>A fresh folder under the system temp folder, deleted on dispose. Shared with NeuroPlugin.Editor.Tests (linked).</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix = "neuro-test") => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"));

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A fixture whose every test gets its own <see cref="TempFolder"/> (named after the fixture), created before the
/// test and deleted after it.</summary>
public abstract class TempFolderFixture
{
    TempFolder? folder;

    /// <summary>The running test's folder.</summary>
    protected TempFolder Folder => folder ?? throw new InvalidOperationException("the temp folder exists only while a test runs");

    [SetUp]
    public void CreateTempFolder() => folder = new TempFolder("neuro-" + GetType().Name);

    [TearDown]
    public void DeleteTempFolder()
    {
        folder?.Dispose();
        folder = null;
    }
}

/// <summary>A <see cref="TempFolderFixture"/> whose every test also gets a CPU backend of its own, created before the test
/// and disposed after it.</summary>
public abstract class CpuTempFolderFixture : TempFolderFixture
{
    NeuroPlugin.Backends.Cpu.CpuBackend? cpu;

    /// <summary>The running test's CPU backend.</summary>
    protected NeuroPlugin.Backends.Cpu.CpuBackend Cpu => cpu ?? throw new InvalidOperationException("the backend exists only while a test runs");

    [SetUp]
    public void CreateCpuBackend() => cpu = new NeuroPlugin.Backends.Cpu.CpuBackend();

    [TearDown]
    public void DisposeCpuBackend()
    {
        cpu?.Dispose();
        cpu = null;
    }
}
