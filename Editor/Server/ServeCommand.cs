using System.CommandLine;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// <c>neuro serve [--port P] [--folder DIR]</c>: starts the editor's server on 127.0.0.1 and prints the address with
/// this session's token; runs until Ctrl+C.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "TCP port on 127.0.0.1 (0: any free port)", DefaultValueFactory = _ => 0 };
        var folder = new Option<string>("--folder") { Description = "Folder the editor opens and saves models in (default: the current folder)", DefaultValueFactory = _ => "." };
        var noBrowser = new Option<bool>("--no-browser") { Description = "Accepted for scripts; the server never opens a browser itself" };
        var command = new Command("serve", "Start the network editor (a browser UI on 127.0.0.1, protected by a per-session token)") { port, folder, noBrowser };
        command.SetAction(parse => Run(parse.GetValue(port), parse.GetValue(folder)!));
        return command;
    }

    static int Run(int port, string folder)
    {
        if (port is < 0 or > 65535) throw new Cli.CliErrors.UsageException($"--port must be 0..65535, got {port}");
        var server = EditorServer.StartAsync(new EditorServerOptions(folder, port)).GetAwaiter().GetResult();
        Console.WriteLine($"NeuroPlugin editor: {server.Url}");
        Console.WriteLine($"serving {server.Folder.Root}; press Ctrl+C to stop");
        server.WaitForShutdownAsync().GetAwaiter().GetResult();
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }
}
