using NeuroPlugin.Search;
using NeuroPlugin.Tests.Search;

namespace NeuroPlugin.Tests.Cli;

/// <summary>
/// Issue 18's acceptance for <c>neuro search</c>: a tiny search (a small Fashion-MNIST subset, about a minute) ends with
/// a valid front, chart, tables and model files; killed mid-search and run again, it ends with the candidates and front of
/// an uninterrupted run of the same seed.
/// </summary>
[NonParallelizable]
public class SearchCliTests : TempFolderFixture
{
    static readonly string[] Tiny =
        ["search", "--budget", "10", "--candidates", "6", "--population", "3", "--sample-size", "2", "--train-images", "384", "--validation-images", "128",
         "--epochs", "2", "--seed", "11", "--backend", "cpu", "--max-flops", "845648"];

    [Test]
    public void TinySearch_KilledAndRunAgain_EndsWithTheFrontOfAnUninterruptedRun()
    {
        string straightFolder = Folder.Combine("straight");
        var straight = NeuroCli.RunChild([.. Tiny, "--out", straightFolder]);
        Assert.That(straight.ExitCode, Is.EqualTo(0), straight.Error);
        var (_, expected) = SearchState.Read(Path.Combine(straightFolder, SearchState.FileName));
        Assert.That(expected, Has.Count.EqualTo(6));
        CheckOutput(straightFolder, expected);

        string killedFolder = Folder.Combine("killed"), state = Path.Combine(killedFolder, SearchState.FileName);
        using (var killed = NeuroCli.Start([.. Tiny, "--out", killedFolder]))
        {
            _ = killed.StandardOutput.ReadToEndAsync();
            _ = killed.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!killed.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3) && Completed(state) < 2) Thread.Sleep(20);
            Assert.That(killed.HasExited, Is.False, "test setup: the search was still running when it had two candidates");
            killed.Kill(entireProcessTree: true);
            Assert.That(killed.WaitForExit(30_000), Is.True);
        }
        int before = Completed(state);
        Assert.That(before, Is.InRange(2, 5), "killed mid-search");
        Assert.That(File.Exists(Path.Combine(killedFolder, "pareto.png")), Is.False, "the killed search wrote no results");

        var again = NeuroCli.RunChild([.. Tiny, "--out", killedFolder]);
        Assert.That(again.ExitCode, Is.EqualTo(0), again.Error);
        Assert.That(again.Out, Does.Contain($"resumed after {before} candidates"));
        var (_, resumed) = SearchState.Read(state);
        Assert.That(resumed.Select(ArchitectureSearchTests.Deterministic), Is.EqualTo(expected.Select(ArchitectureSearchTests.Deterministic)),
            "the same candidates, architectures and accuracies as the uninterrupted run");
        // the fronts over what the seed decides (accuracy, parameters, FLOPs) hold the same candidates (as sets: a front
        // is listed by measured latency, which varies from run to run, as does the written front, which also weighs it)
        Assert.That(ParetoFront.Of(resumed, c => [c.Parameters, c.Flops]).Select(c => c.Id),
            Is.EquivalentTo(ParetoFront.Of(expected, c => [c.Parameters, c.Flops]).Select(c => c.Id)));
        CheckOutput(killedFolder, resumed);
    }

    [Test]
    public void BadArguments_AreOneLineErrors()
    {
        var backend = NeuroCli.Run([.. With("--backend", "auto"), "--out", Folder.Path]);
        Assert.That(backend.ExitCode, Is.EqualTo(1));
        Assert.That(backend.Error, Does.Contain("--backend must be cpu or gl"));
        var images = NeuroCli.Run([.. With("--train-images", "59000", "--validation-images", "2000"), "--out", Folder.Path]);
        Assert.That(images.Error.Trim(), Does.StartWith("neuro: --train-images 59000 and --validation-images 2000 need 61000 images"));
        var impossible = NeuroCli.Run([.. Tiny, "--out", Folder.Path, "--max-params", "50"]);
        Assert.That(impossible.ExitCode, Is.EqualTo(1));
        Assert.That(impossible.Error, Does.Contain("at most 50 parameters"));
    }

    /// <summary><see cref="Tiny"/> with the values of some of its flags replaced (pairs of flag and value).</summary>
    static string[] With(params string[] changes)
    {
        var arguments = Tiny.ToArray();
        for (int c = 0; c < changes.Length; c += 2)
            arguments[Array.IndexOf(arguments, changes[c]) + 1] = changes[c + 1];
        return arguments;
    }

    static int Completed(string state)
    {
        try
        {
            return File.Exists(state) ? SearchState.Read(state).Candidates.Count : 0;
        }
        catch (SearchException)
        {
            return 0; // being replaced right now (never half-written: temporary file, then rename)
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The front's chart, tables and model files agree with the candidates in the state file.</summary>
    static void CheckOutput(string searchFolder, IReadOnlyList<SearchCandidate> candidates)
    {
        var front = ParetoFront.Of(candidates);
        Assert.That(front, Is.Not.Empty);
        byte[] png = File.ReadAllBytes(Path.Combine(searchFolder, "pareto.png"));
        Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }), "a PNG");
        Assert.That(png.Length, Is.GreaterThan(10_000), "a drawn chart");

        var frontRows = File.ReadAllLines(Path.Combine(searchFolder, "front.csv"));
        Assert.That(frontRows[0], Does.StartWith("id,parent,change,status,accuracy,latency_ms,parameters,flops"));
        Assert.That(frontRows.Skip(1).Select(r => int.Parse(r.Split(',')[0])), Is.EqualTo(front.Select(c => c.Id)));
        Assert.That(File.ReadAllLines(Path.Combine(searchFolder, "candidates.csv")), Has.Length.EqualTo(candidates.Count + 1));
        string markdown = File.ReadAllText(Path.Combine(searchFolder, "front.md"));
        Assert.That(markdown, Does.Contain("![Pareto front](pareto.png)"));
        Assert.That(markdown, Does.Contain("`neuro search --budget 10 "), "the command that made it, as typed");
        foreach (var c in front) Assert.That(markdown, Does.Contain($"| #{c.Id} |"));

        using var cpu = new CpuBackend();
        var files = Directory.GetFiles(Path.Combine(searchFolder, ArchitectureSearch.FrontFolder));
        Assert.That(files.Select(Path.GetFileName), Is.EquivalentTo(front.Select(c => SearchCandidate.FileName(c.Id))));
        foreach (var c in front)
        {
            string path = Path.Combine(searchFolder, ArchitectureSearch.FrontFolder, SearchCandidate.FileName(c.Id));
            var provenance = SearchProvenance.Read(path)!;
            Assert.That((provenance.SearchSeed, provenance.CandidateId, provenance.ShortTrainingAccuracy, provenance.LatencyMilliseconds, provenance.Flops),
                Is.EqualTo((11, c.Id, c.Accuracy!.Value, c.LatencyMilliseconds, c.Flops)));
            using var network = ModelFile.Load(path, cpu);
            Assert.That(network.ParameterCount, Is.EqualTo(c.Parameters));
        }
        Assert.That(File.ReadAllText(Path.Combine(searchFolder, ArchitectureSearch.LogFile)), Does.Contain("front: " + string.Join(", ", front.Select(c => c.Id))));
    }
}
