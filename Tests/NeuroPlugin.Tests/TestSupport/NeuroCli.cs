using NeuroPlugin.Editor;

namespace NeuroPlugin.Tests.TestSupport;

/// <summary>Runs the <c>neuro</c> command line in-process with stdout and stderr captured. It redirects the
/// process-wide Console, so fixtures that use it are [NonParallelizable].</summary>
public static class NeuroCli
{
    public static (int ExitCode, string Out, string Error) Run(params string[] args)
    {
        var (oldOut, oldError) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = Program.Main(args);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }
}
