using System.Diagnostics;
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

    /// <summary>Runs <c>neuro</c> in a child process to its end. Training runs go to a child process rather than
    /// <see cref="Run"/>: Spectre's progress refresh thread was seen writing into the console of an in-process run
    /// after that runner had closed it, which crashes the test host.</summary>
    public static (int ExitCode, string Out, string Error) RunChild(string[] arguments, int timeoutMilliseconds = 300_000)
    {
        using var process = Start(arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        NUnit.Framework.Assert.That(process.WaitForExit(timeoutMilliseconds), NUnit.Framework.Is.True, $"neuro {string.Join(' ', arguments)} finished");
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts <c>neuro</c> (the build beside the tests) as a child process with its output captured.</summary>
    public static Process Start(string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "neuro.dll"));
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["NO_COLOR"] = "1";
        return Process.Start(start)!;
    }
}
