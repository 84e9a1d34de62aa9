using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Backends.OpenGL;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// Creates the backend a command asked for: <c>gl</c> (the headless GL device; fails with the reason),
/// <c>cpu</c>, or <c>auto</c> (GL when a headless device can be created, else CPU with a one-line warning).
/// </summary>
internal static class BackendSelection
{
    public static readonly string[] Names = ["auto", "gl", "cpu"];

    public static IBackend Create(string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "cpu":
                return new CpuBackend();
            case "gl":
                return GLBackend.CreateHeadless();
            case "auto":
                try
                {
                    return GLBackend.CreateHeadless();
                }
                catch (GLUnavailableException e)
                {
                    Console.Error.WriteLine($"neuro: warning: using the CPU backend: {e.Message.ReplaceLineEndings(" ")}");
                    return new CpuBackend();
                }
            default:
                throw new CliErrors.UsageException($"unknown backend '{name}'; use one of: {string.Join(", ", Names)}");
        }
    }
}
