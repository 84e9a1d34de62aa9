using Spectre.Console;

namespace NeuroPlugin.Editor.Cli;

/// <summary>Spectre.Console output for one command run.</summary>
static class Terminal
{
    /// <summary>A console writing to the current <see cref="Console.Out"/>. <see cref="AnsiConsole"/>'s static console
    /// captures the writer it first sees and keeps it for the process, so a host that redirects Console.Out per run
    /// (the tests run <c>neuro</c> in-process, an editor could too) would get progress refreshes written into an earlier
    /// run's closed writer; a console per run follows the redirection.</summary>
    public static IAnsiConsole Create() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
}
