namespace NeuroPlugin.Editor.Cli;

/// <summary>Turns an exception into the one line the user sees.</summary>
internal static class CliErrors
{
    public static string Describe(Exception e)
    {
        // System.CommandLine wraps action exceptions in nothing, but reflection-based code may; unwrap to the cause
        while (e is System.Reflection.TargetInvocationException or AggregateException && e.InnerException is not null)
            e = e.InnerException;
        string message = e.Message.ReplaceLineEndings(" ");
        return e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException
                 or NeuroPlugin.Data.DatasetException or NeuroPlugin.Tensors.ShapeException
                 or NeuroPlugin.Backends.OpenGL.GLUnavailableException or NeuroPlugin.Serialization.ModelFileException
                 or NeuroPlugin.Search.SearchException
            ? message
            : $"{e.GetType().Name}: {message}";
    }

    /// <summary>A user error found while checking options: becomes one line and exit code 1.</summary>
    public sealed class UsageException(string message) : ArgumentException(message);
}
