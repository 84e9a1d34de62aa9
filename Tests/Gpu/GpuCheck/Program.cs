using System.Text.Json.Nodes;

namespace NeuroPlugin.GpuCheck;

/// <summary>
/// <c>gpucheck COMMAND [--option value]…</c>: the pieces of Tests/Gpu/run.sh, each printing or writing one JSON object.
/// <list type="bullet">
/// <item><c>describe --out FILE</c>: the GL device (renderer, version, limits).</item>
/// <item><c>tests --out FILE [--digest FILE] [--validate shuffled|reversed]</c>: the GL-vs-CPU op suite (NUnit, in process).</item>
/// <item><c>train --backend gl|cpu --seed N [--epochs 1] [--steps N] [--sync] [--validate shuffled|reversed] --out FILE</c>:
///   LeNet-5 on Fashion-MNIST with <c>neuro train</c>'s defaults, test accuracy and a digest of the weights.</item>
/// <item><c>bench --model NAME --backend gl|cpu --batch N --steps N --out FILE</c>: training throughput.</item>
/// <item><c>report --dir DIR --out FILE</c>: one report from the pieces, and a short table on standard output.</item>
/// </list>
/// </summary>
static class Program
{
    static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine("usage: gpucheck describe|tests|train|bench|report [--option value]… (see Tests/Gpu/run.sh)");
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var options = CommandOptions.Parse(args.AsSpan(1));
            return args[0] switch
            {
                "describe" => Write(options, DeviceInfo.Describe()),
                "tests" => SuiteRun.Run(options),
                "train" => Write(options, TrainingRun.Run(options)),
                "bench" => Write(options, BenchmarkRun.Run(options)),
                "report" => Report.Run(options),
                _ => throw new ArgumentException($"unknown command '{args[0]}': expected describe, tests, train, bench or report"),
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"gpucheck: {e.Message}");
            return 2;
        }
    }

    /// <summary>Writes <paramref name="result"/> to <c>--out</c> (and standard output); 0.</summary>
    internal static int Write(CommandOptions options, JsonObject result)
    {
        string text = result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(text);
        if (options.Get("out") is { } path) File.WriteAllText(path, text + "\n");
        return 0;
    }
}

/// <summary><c>--name value</c> pairs and <c>--flag</c> switches.</summary>
sealed class CommandOptions
{
    readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);

    public static CommandOptions Parse(ReadOnlySpan<string> args)
    {
        var options = new CommandOptions();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected an option, got '{args[i]}'");
            string name = args[i][2..];
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            options.values[name] = hasValue ? args[++i] : null;
        }
        return options;
    }

    public string? Get(string name) => values.TryGetValue(name, out var value) ? value : null;
    public bool Has(string name) => values.ContainsKey(name);
    public string Require(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback)
    {
        string? text = Get(name);
        if (text is null) return fallback;
        return int.TryParse(text, out int value) ? value : throw new ArgumentException($"--{name} {text} is not an integer");
    }
}
