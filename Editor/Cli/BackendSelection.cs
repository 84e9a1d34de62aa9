using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// Creates the backend a command asked for: <c>gl</c> (the headless GL device; fails with the reason),
/// <c>cpu</c>, or <c>auto</c> (GL when a headless device can be created, else CPU with a one-line warning).
/// </summary>
internal static class BackendSelection
{
    /// <summary>The backend as a training form's field (<c>neuro train --backend</c>, the editor's train form).</summary>
    public static readonly TrainingField Field = new("backend", "--backend", "Backend", TrainingFieldKind.Choice, "auto, gl or cpu")
    {
        Default = "auto", ChoiceNoun = "backend", ChoicesNoun = "backends",
        Choices =
        [
            new("auto", "GL when a headless device can be created, else the CPU"),
            new("gl", "OpenGL compute shaders (a headless context)"),
            new("cpu", "The CPU reference backend"),
        ],
    };

    /// <summary>auto, gl, cpu.</summary>
    public static readonly string[] Names = Field.Choices.Select(c => c.Name).ToArray();

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
