using NeuroPlugin.Editor;

namespace NeuroPlugin.Tests.Toolkit;

/// <summary><c>neuro train</c>'s optimizer options: each invalid value is one line on stderr naming the option,
/// checked before any data is loaded; a short run with Adam and every option writes them to the report.</summary>
[NonParallelizable] // redirects the process-wide Console
public class OptimizerCliTests
{
    [TestCase("--optimizer", "lbfgs", "unknown optimizer 'lbfgs'; known optimizers: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw")]
    [TestCase("--lr", "-0.1", "--lr must be a positive number, got -0.1")]
    [TestCase("--momentum", "1", "--momentum must be in [0, 1), got 1")]
    [TestCase("--weight-decay", "-1", "--weight-decay must be a number ≥ 0, got -1")]
    [TestCase("--l1", "-0.5", "--l1 must be a number ≥ 0, got -0.5")]
    [TestCase("--l2", "NaN", "--l2 must be a number ≥ 0, got NaN")]
    [TestCase("--clip-norm", "0", "--clip-norm must be a positive number, got 0")]
    [TestCase("--schedule", "linear", "unknown learning-rate schedule 'linear'; known schedules: constant, step, exponential, cosine")]
    [TestCase("--gamma", "2", "--gamma must be in (0, 1], got 2")]
    [TestCase("--step-size", "0", "--step-size must be at least 1 epoch, got 0")]
    [TestCase("--warmup-steps", "-3", "--warmup-steps must be at least 0, got -3")]
    public void InvalidOptionIsOneLineNamingIt(string option, string value, string expected)
    {
        // a data folder that does not exist: the option must be rejected before the data is read
        var (code, _, error) = NeuroCli.Run("train", "--backend", "cpu", "--data-dir", "/nonexistent/neuro-data", option, value);
        Assert.That(code, Is.Not.EqualTo(0), "exit code");
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), $"stderr: {error}");
        Assert.That(lines[0], Is.EqualTo("neuro: " + expected));
    }

    [Test]
    public void NesterovNeedsMomentum()
    {
        var (code, _, error) = NeuroCli.Run("train", "--backend", "cpu", "--data-dir", "/nonexistent/neuro-data", "--optimizer", "nesterov", "--momentum", "0");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error.Trim(), Is.EqualTo("neuro: --momentum must be above 0 for nesterov"));
    }

    [Test]
    public void AdamWithEveryOptionWritesTheSettingsToTheReport()
    {
        using var files = new TempFolder("neuro-optimizer-cli");
        string report = files.Combine("report.json");
        var (code, output, error) = NeuroCli.Run("train", "--backend", "cpu", "--epochs", "1", "--train-limit", "256", "--batch", "32",
            "--optimizer", "adamw", "--weight-decay", "0.05", "--l1", "1e-5", "--l2", "1e-4", "--clip-norm", "2",
            "--schedule", "step", "--gamma", "0.5", "--step-size", "1", "--warmup-steps", "3", "--report", report);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("test accuracy"));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        var root = json.RootElement;
        Assert.That(root.GetProperty("optimizer").GetString(), Is.EqualTo("adamw"));
        Assert.That(root.GetProperty("learningRate").GetSingle(), Is.EqualTo(0.001f), "Adam's default rate");
        Assert.That(root.GetProperty("weightDecay").GetSingle(), Is.EqualTo(0.05f));
        Assert.That(root.GetProperty("l1").GetSingle(), Is.EqualTo(1e-5f));
        Assert.That(root.GetProperty("l2").GetSingle(), Is.EqualTo(1e-4f));
        Assert.That(root.GetProperty("clipNorm").GetSingle(), Is.EqualTo(2f));
        Assert.That(root.GetProperty("schedule").GetString(), Is.EqualTo("warmup+step"));
        Assert.That(root.GetProperty("gamma").GetSingle(), Is.EqualTo(0.5f));
        Assert.That(root.GetProperty("stepSize").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("warmupSteps").GetInt32(), Is.EqualTo(3));
        Assert.That(float.IsFinite(root.GetProperty("finalLoss").GetSingle()), Is.True, "the objective (data loss + penalty) is finite");
    }
}
