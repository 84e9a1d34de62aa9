using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using NeuroPlugin.Tests.Soak;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>A reader under fuzzing: its seed files and mutations, how an input file is named, how it is read (the
/// result described in a few words, or an exception), and which exceptions are its typed errors.</summary>
/// <param name="Name">The campaign's name (<c>model</c>, <c>onnx</c>…), also the regression folder's.</param>
/// <param name="FileName">The input file's name for these bytes (the extension a user would give it).</param>
/// <param name="Read">Reads the file at the path, returning a short description of the result.</param>
/// <param name="IsTypedError">Whether an exception is one of the reader's typed errors (which must also name the file).</param>
sealed record FuzzTarget(string Name, IReadOnlyList<byte[]> Seeds, IReadOnlyList<Mutation> Mutations, Func<byte[], string> FileName,
    Func<string, string> Read, Func<Exception, bool> IsTypedError);

/// <summary>An input that broke a rule: untyped or anonymous error, over time, over memory, or hung.</summary>
sealed record FuzzFailure(long Index, string Kind, string Detail, string SavedAs);

/// <summary>What a campaign saw.</summary>
sealed record FuzzSummary(string Target, int Seed, long Inputs, long Results, long TypedErrors, int DistinctOutcomes, double Seconds,
    double MaxInputSeconds, long MaxAllocatedBytes, long MaxResidentGrowthBytes, IReadOnlyList<FuzzFailure> Failures)
{
    public string ToJson() => JsonSerializer.Serialize(this with { Failures = [.. Failures.Take(20)] });

    public override string ToString() =>
        $"{Target}: {Inputs:N0} inputs (seed {Seed}) in {Seconds:F0} s: {Results:N0} results, {TypedErrors:N0} typed errors, {DistinctOutcomes:N0} distinct outcomes; " +
        $"slowest input {MaxInputSeconds * 1000:F0} ms, most allocated {MaxAllocatedBytes / 1048576.0:F1} MiB, largest resident growth {MaxResidentGrowthBytes / 1048576.0:F1} MiB; {Failures.Count} failures";
}

/// <summary>
/// Runs a seeded campaign against one reader in this process: input <c>i</c> (<see cref="Mutator"/>) is written to a
/// file and read, and must end in a result or a typed error whose message names the file, within
/// <see cref="TimeLimit"/> and <see cref="MemoryLimitBytes"/>. Time is wall time (an input over the limit is measured
/// again once, so a moment of machine load is not a failure); memory is the bytes the process allocated on the managed
/// heap during the input (all threads: an upper bound of its managed peak) and the growth of the process's peak
/// resident set over its resident set before the input (native and unmanaged memory: the peak is reset before each
/// input through <c>/proc/self/clear_refs</c>). An input that breaks a rule is saved under the findings folder with
/// its campaign seed and number; an input still running after <see cref="HangLimit"/> is saved and ends the campaign.
/// </summary>
static partial class FuzzCampaign
{
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(2);
    public const long MemoryLimitBytes = 256L << 20;
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(20);

    /// <summary>Runs inputs <c>0 … inputs−1</c> of campaign <paramref name="seed"/>; <paramref name="findings"/> gets the failing ones.</summary>
    public static FuzzSummary Run(FuzzTarget target, int seed, long inputs, string findings, Action<string>? progress = null)
    {
        string work = Path.Combine(Path.GetTempPath(), $"neuro-fuzz-{target.Name}-{Guid.NewGuid():N}");
        string classFolder = Path.Combine(work, "c");
        Directory.CreateDirectory(classFolder);
        var mutator = new Mutator(target.Seeds, target.Mutations);
        var outcomes = new Dictionary<string, long>(StringComparer.Ordinal);
        var failures = new List<FuzzFailure>();
        long results = 0, typed = 0, maxAllocated = 0, maxGrowth = 0;
        double maxSeconds = 0;
        long current = -1, startedAt = 0, done = 0;
        byte[] currentBytes = [];
        var clock = Stopwatch.StartNew();

        void Fail(long index, byte[] bytes, string kind, string detail)
        {
            Directory.CreateDirectory(findings);
            string saved = Path.Combine(findings, $"{target.Name}-s{seed}-i{index}-{kind}{Path.GetExtension(target.FileName(bytes))}");
            File.WriteAllBytes(saved, bytes);
            lock (failures) failures.Add(new FuzzFailure(index, kind, detail, saved));
        }

        var worker = new Thread(() =>
        {
            try
            {
                RunInputs();
            }
            catch (Exception e)
            {
                // a fault of the harness itself (a mutation, the disk): ends the campaign as a failure, not the process
                lock (failures) failures.Add(new FuzzFailure(Volatile.Read(ref current), "harness", e.ToString(), ""));
            }
            Volatile.Write(ref current, -2);
        }) { IsBackground = true, Name = $"fuzz {target.Name}" };
        worker.Start();

        while (!worker.Join(200))
        {
            long index = Volatile.Read(ref current);
            if (index >= 0 && Stopwatch.GetElapsedTime(Volatile.Read(ref startedAt)) > HangLimit && Volatile.Read(ref current) == index)
            {
                Fail(index, currentBytes, "hang", $"still running after {HangLimit.TotalSeconds} s");
                lock (failures) return Summary(index);
            }
        }
        Directory.Delete(work, recursive: true);
        return Summary(done);

        void RunInputs()
        {
            string? previous = null;
            for (long i = 0; i < inputs; i++)
            {
                var (bytes, recipe) = mutator.Create(seed, i);
                string path = Path.Combine(classFolder, target.FileName(bytes));
                if (previous is not null && previous != path) File.Delete(previous);
                File.WriteAllBytes(path, bytes);
                previous = path;
                Volatile.Write(ref startedAt, Stopwatch.GetTimestamp());
                currentBytes = bytes;
                Volatile.Write(ref current, i);

                var measured = Measure(target, path);
                if (measured.Elapsed > TimeLimit)
                {
                    GC.Collect();
                    measured = Measure(target, path) is var again && again.Elapsed < measured.Elapsed ? again : measured;
                }
                maxSeconds = Math.Max(maxSeconds, measured.Elapsed.TotalSeconds);
                maxAllocated = Math.Max(maxAllocated, measured.Allocated);
                maxGrowth = Math.Max(maxGrowth, measured.ResidentGrowth);

                string outcome = Classify(target, path, measured, out string? problem);
                if (problem is not null) Fail(i, bytes, problem, $"{recipe}: {outcome}");
                else if (measured.Elapsed > TimeLimit) Fail(i, bytes, "slow", $"{recipe}: {measured.Elapsed.TotalSeconds:F2} s twice ({outcome})");
                else if (measured.Allocated > MemoryLimitBytes || measured.ResidentGrowth > MemoryLimitBytes)
                    Fail(i, bytes, "memory", $"{recipe}: allocated {measured.Allocated} bytes, resident set grew {measured.ResidentGrowth} bytes ({outcome})");
                if (measured.Error is null) results++;
                else if (problem is null) typed++;
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                done = i + 1;
                if (progress is not null && done % 10_000 == 0) progress($"{target.Name}: {done:N0} inputs, {clock.Elapsed.TotalSeconds:F0} s, {outcomes.Count:N0} outcomes, {failures.Count} failures");
            }
        }

        FuzzSummary Summary(long count) => new(target.Name, seed, count, results, typed, outcomes.Count,
            clock.Elapsed.TotalSeconds, maxSeconds, maxAllocated, maxGrowth, [.. failures]);
    }

    /// <summary>Reads each file (regression files) under the same rules, copied to where a campaign puts its inputs;
    /// the failures, described.</summary>
    public static List<string> Check(FuzzTarget target, IEnumerable<string> files)
    {
        string work = Path.Combine(Path.GetTempPath(), $"neuro-fuzz-{target.Name}-{Guid.NewGuid():N}", "c");
        Directory.CreateDirectory(work);
        var problems = new List<string>();
        try
        {
            foreach (string file in files)
            {
                byte[] bytes = File.ReadAllBytes(file);
                string path = Path.Combine(work, target.FileName(bytes));
                File.WriteAllBytes(path, bytes);
                // on a thread of its own, so that a reader that hangs fails this check instead of blocking it
                Measurement? measured = null;
                var reader = new Thread(() => measured = Measure(target, path)) { IsBackground = true, Name = $"fuzz check {target.Name}" };
                reader.Start();
                if (!reader.Join(HangLimit))
                {
                    problems.Add($"{file}: still running after {HangLimit.TotalSeconds} s");
                    continue;
                }
                File.Delete(path);
                string outcome = Classify(target, path, measured!, out string? problem);
                if (problem is not null) problems.Add($"{file}: {problem}: {outcome}");
                else if (measured!.Elapsed > TimeLimit) problems.Add($"{file}: took {measured.Elapsed.TotalSeconds:F2} s");
                else if (measured.Allocated > MemoryLimitBytes || measured.ResidentGrowth > MemoryLimitBytes)
                    problems.Add($"{file}: allocated {measured.Allocated} bytes, resident set grew {measured.ResidentGrowth} bytes");
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(work)!, recursive: true);
        }
        return problems;
    }

    sealed record Measurement(string? Result, Exception? Error, TimeSpan Elapsed, long Allocated, long ResidentGrowth);

    static Measurement Measure(FuzzTarget target, string path)
    {
        ProcessMemory.ResetPeak();
        long resident = ProcessMemory.Resident();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        string? result = null;
        Exception? error = null;
        try
        {
            result = target.Read(path);
        }
        catch (Exception e)
        {
            error = e;
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        long allocatedNow = GC.GetTotalAllocatedBytes(precise: true);
        return new Measurement(result, error, elapsed, allocatedNow - allocated, Math.Max(0, ProcessMemory.Peak() - resident));
    }

    /// <summary>The outcome's key (distinct outcomes are counted by it) and, when the outcome breaks a rule, which.</summary>
    static string Classify(FuzzTarget target, string path, Measurement measured, out string? problem)
    {
        problem = null;
        if (measured.Error is not { } e) return "result: " + Normalize(measured.Result ?? "");
        string key = $"{e.GetType().Name}: {Normalize(e.Message.Replace(path, "<file>"))}";
        if (!target.IsTypedError(e)) problem = "untyped";
        else if (!e.Message.Contains(path, StringComparison.Ordinal)) problem = "anonymous";
        return problem is null ? key : $"{key}\n{e}";
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();

    /// <summary>A message with its numbers replaced by <c>#</c> and cut at 200 characters: one outcome per kind of problem.</summary>
    static string Normalize(string message)
    {
        string text = Digits().Replace(message, "#");
        return text.Length <= 200 ? text : text[..200];
    }
}
