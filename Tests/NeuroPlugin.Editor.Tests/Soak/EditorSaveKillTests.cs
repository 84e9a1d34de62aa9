using System.Collections.Concurrent;

namespace NeuroPlugin.Editor.Tests.Soak;

/// <summary>
/// Issue 16, "kill anywhere, lose nothing", for the editor's saves: <c>neuro serve</c> (an external process) edits and
/// saves <c>model.neuro</c> over and over (each save a different version: the last layer's output count) and is killed
/// (SIGKILL) at <see cref="Kills"/> moments — at random times, as a save's temporary file appears, just after a save's
/// rename — in several chains of server processes at once. After every kill <c>model.neuro</c> is a complete file of
/// either the last save the server acknowledged or the one it was doing; a new server opens it, edits it and saves,
/// and that save leaves no temporary file behind (it removed the killed save's). <c>NEURO_KILL_RUNS</c> sets the
/// number of kills (default 30).
/// </summary>
[NonParallelizable]
public sealed class EditorSaveKillTests
{
    const string ModelName = "model.neuro";
    static int Kills => int.TryParse(Environment.GetEnvironmentVariable("NEURO_KILL_RUNS"), out int n) && n > 0 ? n : 30;

    /// <summary>The output count of version <paramref name="v"/>; two consecutive versions always differ.</summary>
    static int OutFeatures(int v) => 2 + v % 200;

    [Test]
    public void KilledAnywhere_TheModelFileIsTheLastSaveOrTheOneInProgress()
    {
        var clock = Stopwatch.StartNew();
        int chains = Math.Max(2, Environment.ProcessorCount);
        var moments = new ConcurrentBag<string>();
        var problems = new ConcurrentBag<string>();
        Parallel.For(0, chains, new ParallelOptions { MaxDegreeOfParallelism = chains }, chain =>
        {
            int rounds = (Kills + chains - 1 - chain) / chains; // the kills split over the chains
            using var folder = new TempFolder("neuro-editor-kill");
            try
            {
                RunChain(folder.Path, chain, rounds, moments).GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                problems.Add($"chain {chain}: {e}");
            }
        });
        string table = string.Join(", ", moments.GroupBy(m => m).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"));
        TestContext.Progress.WriteLine($"{moments.Count} kills of neuro serve in {clock.Elapsed.TotalSeconds:F0} s: {table}");
        Assert.That(problems, Is.Empty, table);
        Assert.That(moments, Has.Count.EqualTo(Kills));
        Assert.That(moments, Has.Some.EqualTo("during a save"), table);
    }

    async Task RunChain(string folder, int chain, int rounds, ConcurrentBag<string> moments)
    {
        string model = Path.Combine(folder, ModelName);
        int version = 0, acknowledged = -1;
        var server = ServeProcess.Start(folder);
        try
        {
            await server.BuildSmallNetwork(OutFeatures(version));
            for (int round = 0; round < rounds; round++)
            {
                var random = new Random(chain * 1000 + round);
                int trigger = (round + chain) % 3, nth = random.Next(1, 6);
                int inProgress;
                (version, acknowledged, inProgress) = await SaveUntilKilled(server, folder, trigger, nth, TimeSpan.FromMilliseconds(random.Next(2000)), version, acknowledged);
                server.Process.WaitForExit(TimeSpan.FromMinutes(1));
                server.Dispose();

                bool leftTemporary = Directory.GetFiles(folder, "*.tmp").Length > 0;
                moments.Add(leftTemporary ? "during a save" : inProgress != acknowledged ? "during a save request, file written or not begun" : "between saves");
                int? saved = File.Exists(model) ? Version(model) : null;
                if (acknowledged >= 0 && saved is null) throw new AssertionException($"round {round}: {ModelName} is gone after an acknowledged save");
                if (saved is int s && s != OutFeatures(acknowledged) && s != OutFeatures(inProgress))
                    throw new AssertionException($"round {round}: {ModelName} holds version {s}, neither the acknowledged {OutFeatures(acknowledged)} nor the one in progress {OutFeatures(inProgress)}");
                if (saved is int current && current == OutFeatures(inProgress)) acknowledged = inProgress; // the file is what counts

                server = ServeProcess.Start(folder);
                if (saved is null)
                {
                    await server.BuildSmallNetwork(OutFeatures(version));
                    continue;
                }
                await server.Open(ModelName);
                version++;
                await server.SetOutFeatures("fc", OutFeatures(version));
                await server.Save(ModelName);
                acknowledged = version;
                string[] left = Directory.GetFiles(folder, "*.tmp");
                if (left.Length > 0) throw new AssertionException($"round {round}: the save after a restart left {string.Join(", ", left.Select(Path.GetFileName))}");
                if (Version(model) != OutFeatures(version)) throw new AssertionException($"round {round}: the save after a restart did not write version {OutFeatures(version)}");
            }
        }
        finally
        {
            server.Dispose();
        }
    }

    /// <summary>Edits and saves, version after version, until the server is killed: at <paramref name="delay"/>
    /// (trigger 0), as the <paramref name="nth"/> save's temporary file appears (1), or right after the
    /// <paramref name="nth"/> save's rename (2). Returns the last version edited, acknowledged and in progress.</summary>
    static async Task<(int Version, int Acknowledged, int InProgress)> SaveUntilKilled(ServeProcess server, string folder, int trigger, int nth, TimeSpan delay,
        int version, int acknowledged)
    {
        using var watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName };
        int temporaries = 0, renames = 0;
        watcher.Created += (_, e) =>
        {
            if (trigger == 1 && e.Name!.StartsWith(ModelName + ".", StringComparison.Ordinal) && Interlocked.Increment(ref temporaries) == nth) server.Kill();
        };
        watcher.Renamed += (_, e) =>
        {
            if (trigger == 2 && e.Name == ModelName && Interlocked.Increment(ref renames) == nth) server.Kill();
        };
        watcher.EnableRaisingEvents = true;
        using var timer = trigger == 0 ? new Timer(_ => server.Kill(), null, delay, Timeout.InfiniteTimeSpan) : null;
        int inProgress = acknowledged;
        for (int saves = 0; !server.Process.HasExited; saves++)
        {
            if (saves == 200) server.Kill(); // a trigger that never came: end the round anyway
            try
            {
                version++;
                await server.SetOutFeatures("fc", OutFeatures(version));
                inProgress = version;
                await server.Save(ModelName);
                acknowledged = version;
            }
            catch (Exception) when (server.Process.HasExited || WaitForExit(server))
            {
                break; // killed while a request was under way
            }
        }
        return (version, acknowledged, inProgress);
    }

    /// <summary>A request failed: true when that is because the server is dying (it exits within seconds).</summary>
    static bool WaitForExit(ServeProcess server) => server.Process.WaitForExit(TimeSpan.FromSeconds(10));

    /// <summary>The version a saved file holds: its last layer's output count (and it must load).</summary>
    static int Version(string model)
    {
        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(model, cpu);
        return network.Parameter("fc.weight").Shape[0];
    }
}
