using System.Diagnostics;
using System.Security;
using System.Text.Json.Nodes;
using NUnit.Framework.Api;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace NeuroPlugin.GpuCheck;

/// <summary>
/// Runs the linked NUnit suite (the GL-vs-CPU op tests of NeuroPlugin.Tests) in process with NUnit's own runner, as
/// <c>dotnet test</c> would but without the SDK. Categories Acceptance and Convergence (long runs the check does its own
/// way) are left out; in validation mode, or when recording a digest, also the allocation and timing tests (validation
/// mode and the digest allocate, and validation mode is slow).
/// </summary>
static class SuiteRun
{
    public static int Run(CommandOptions options)
    {
        if (options.Get("digest") is { } digest) Environment.SetEnvironmentVariable("NEURO_GL_DIGEST", Path.GetFullPath(digest));
        var validation = DeviceInfo.Validation(options);
        if (validation is not null)
        {
            Environment.SetEnvironmentVariable("NEURO_GL_VALIDATE", validation.Order == Backends.OpenGL.WorkGroupOrder.Reversed ? "reversed" : "shuffled");
            Environment.SetEnvironmentVariable("NEURO_GL_VALIDATE_SEED", validation.Seed.ToString());
        }
        // validation mode allocates by design; so does the digest's bookkeeping, which runs inside the tests' steps
        string excluded = validation is null && options.Get("digest") is null ? "LeNetOpTimings" : "Allocat|Performance|LeNetOpTimings";
        string filter = "<filter><and><not><cat>Acceptance</cat></not><not><cat>Convergence</cat></not>" +
            $"<not><test re=\"1\">{SecurityElement.Escape(excluded)}</test></not>" +
            (options.Get("where") is { } where ? $"<test re=\"1\">{SecurityElement.Escape(where)}</test>" : "") +
            "</and></filter>";

        var runner = new NUnitTestAssemblyRunner(new DefaultTestAssemblyBuilder());
        runner.Load(typeof(SuiteRun).Assembly, new Dictionary<string, object>());
        var listener = new Listener();
        var clock = Stopwatch.StartNew();
        runner.Run(listener, TestFilter.FromXml(filter));
        var result = new JsonObject
        {
            ["mode"] = validation is null ? "normal" : $"validation ({validation.Order}, seed {validation.Seed})",
            ["passed"] = listener.Passed,
            ["failed"] = listener.Failures.Count,
            ["skipped"] = listener.Skipped,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            ["failures"] = new JsonArray(listener.Failures.Select(f => (JsonNode)new JsonObject { ["test"] = f.Test, ["message"] = f.Message }).ToArray()),
        };
        Program.Write(options, result);
        return 0;
    }

    /// <summary>Counts test cases (not fixtures) and keeps each failure's name and message.</summary>
    sealed class Listener : ITestListener
    {
        public int Passed, Skipped;
        public readonly List<(string Test, string Message)> Failures = new();

        public void TestStarted(ITest test) { }

        public void TestFinished(ITestResult result)
        {
            if (result.Test.IsSuite)
            {
                // a fixture's one-time set-up or tear-down failing fails the run too
                if (result.ResultState.Status == TestStatus.Failed && result.ResultState.Site is FailureSite.SetUp or FailureSite.TearDown)
                    Failures.Add((result.FullName, Shorten(result.Message)));
                return;
            }
            switch (result.ResultState.Status)
            {
                case TestStatus.Passed:
                    Passed++;
                    break;
                case TestStatus.Failed:
                    Failures.Add((result.FullName, Shorten(result.Message)));
                    Console.Error.WriteLine($"FAILED {result.FullName}: {Shorten(result.Message)}");
                    break;
                default:
                    Skipped++;
                    break;
            }
        }

        public void TestOutput(TestOutput output) => Console.Error.Write(output.Text);
        public void SendMessage(TestMessage message) { }

        static string Shorten(string? message) => message is null ? "" : message.Length <= 2000 ? message : message[..2000] + "…";
    }
}
