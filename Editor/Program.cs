using System.CommandLine;
using NeuroPlugin.Editor.Cli;

namespace NeuroPlugin.Editor;

/// <summary>
/// <c>neuro</c>, the tooling side of NeuroPlugin. Bad input (unknown names, impossible numbers, corrupt
/// files, no GL) ends with one line on stderr and exit code 1 (2 for a command line that does not parse);
/// set NEURO_DEBUG=1 to see stack traces.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("NeuroPlugin: design, train and run convolutional networks on OpenGL compute shaders or the CPU.")
        {
            TrainCommand.Create(),
            BenchCommand.Create(),
            InspectCommand.Create(),
            ImportCommand.Create(),
            ExportCommand.Create(),
            InferCommand.Create(),
            ExperimentCommand.Create(),
            SearchCommand.Create(),
            Server.ServeCommand.Create(),
            MonitorCommand.Create(),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"neuro: {parse.Errors[0].Message}");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("NEURO_DEBUG") != "1")
        {
            Console.Error.WriteLine($"neuro: {CliErrors.Describe(e)}");
            return 1;
        }
    }
}
