using System.Text.Json;

namespace NeuroPlugin.Benchmarks;

/// <summary>PyTorch (Debian's python3-torch under /usr/bin/python3) through pytorch_peer.py: one long-lived process
/// that builds each network once and times what it is asked, so its runs interleave with ours.</summary>
sealed class PyTorchPeer : IRunner
{
    readonly Process process;

    public PyTorchPeer(string python = "/usr/bin/python3")
    {
        string script = Path.Combine(SourceDirectory(), "pytorch_peer.py");
        var start = new ProcessStartInfo(python, [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {python}");
        var ready = JsonDocument.Parse(process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{script} exited at start"));
        Name = $"PyTorch {ready.RootElement.GetProperty("version").GetString()}";
    }

    public string Name { get; }

    public bool Supports(Workload workload) => true;

    public Timing Measure(Workload workload, double seconds)
    {
        var request = new { model = workload.Model, mode = workload.Training ? "train" : "infer", batch = workload.Batch, threads = workload.Threads, seconds };
        process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
        process.StandardInput.Flush();
        string answer = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the PyTorch peer exited while measuring {workload}");
        using var json = JsonDocument.Parse(answer);
        return new Timing([.. json.RootElement.GetProperty("times").EnumerateArray().Select(t => t.GetDouble())]);
    }

    /// <summary>Tests/Benchmarks in the source tree, where pytorch_peer.py finds Tests/Interop's ResNet-20 next to it.</summary>
    static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(5000)) process.Kill();
        }
        process.Dispose();
    }
}
