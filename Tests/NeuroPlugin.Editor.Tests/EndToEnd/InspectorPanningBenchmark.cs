using System.Globalization;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// A benchmark, not a test (explicit; <c>bash Tests/Benchmarks/inspector_fps.sh</c> runs it): how smoothly the editor's
/// canvas pans in Chromium while ResNet-20 trains with the monitor sampling every 10 steps (issue 13: "the page keeps
/// panning smoothly"). The canvas is dragged back and forth for a few seconds, first with nothing running, then during the
/// run, while the page counts its animation frames; it prints frames per second, the frame-interval percentiles and the
/// longest frame, and how many monitor samples arrived while panning. Writes the same line to
/// <c>NEURO_BENCH_REPORT</c> when set.
/// </summary>
[Explicit("a benchmark: Tests/Benchmarks/inspector_fps.sh")]
public sealed class InspectorPanningBenchmark : EditorBrowserFixture
{
    [Test]
    public async Task PanningWhileResNet20TrainsWithTheMonitor()
    {
        await editor.InsertTemplateAsync("resnet_cifar", "fashion-mnist");
        var idle = await PanAsync(TimeSpan.FromSeconds(6));

        await editor.StartTrainingAsync(batchSize: 64, epochs: 1, trainLimit: 60000, testLimit: 200, monitorEvery: 10);
        // samples are flowing: the badges carry a step
        await editor.Page.Locator("[data-testid^=node-badge-][data-step]").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 180_000 });
        var training = await PanAsync(TimeSpan.FromSeconds(12));
        await editor.Page.GetByTestId("train-stop").ClickAsync();
        await editor.WaitForTrainingEndAsync(TimeSpan.FromMinutes(2));

        string report = $"inspector panning, ResNet-20 (1×28×28, batch 64) on the CPU with the monitor every 10 steps: idle {idle}; training {training}";
        TestContext.Out.WriteLine(report);
        if (Environment.GetEnvironmentVariable("NEURO_BENCH_REPORT") is { Length: > 0 } path) File.AppendAllText(path, report + Environment.NewLine);
        Assert.That(training.Frames, Is.GreaterThan(0), "the page drew frames while panning");
    }

    /// <summary>Frames the page drew while the canvas was dragged, their rate and intervals, and the training steps the
    /// badges advanced by meanwhile.</summary>
    sealed record Panning(int Frames, double Seconds, double P50Ms, double P95Ms, double MaxMs, int StepsSeen)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Frames / Seconds:F1} frames/s ({Frames} in {Seconds:F1} s), frame interval p50 {P50Ms:F1} ms, p95 {P95Ms:F1} ms, longest {MaxMs:F1} ms, badges advanced {StepsSeen} steps");
    }

    async Task<Panning> PanAsync(TimeSpan duration)
    {
        var page = editor.Page;
        await page.EvaluateAsync("""
            () => {
              const badgeStep = () => Math.max(0, ...[...document.querySelectorAll('[data-testid^="node-badge-"][data-step]')].map(b => +b.dataset.step));
              window.__pan = { times: [], running: true, firstStep: badgeStep(), badgeStep };
              const tick = t => { if (!window.__pan.running) return; window.__pan.times.push(t); requestAnimationFrame(tick); };
              requestAnimationFrame(tick);
            }
            """);
        var pane = await page.Locator(".react-flow__pane").BoundingBoxAsync() ?? throw new AssertionException("no canvas");
        double x = pane.X + pane.Width / 2, y = pane.Y + pane.Height / 2;
        await page.Mouse.MoveAsync((float)x, (float)y);
        await page.Mouse.DownAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int move = 0; clock.Elapsed < duration; move++)
        {
            // a slow circle of 150 px: the drag keeps the canvas moving every frame
            double angle = move * 0.08;
            await page.Mouse.MoveAsync((float)(x + 150 * Math.Sin(angle)), (float)(y + 150 * (1 - Math.Cos(angle))));
        }
        await page.Mouse.UpAsync();
        var result = await page.EvaluateAsync<double[]>("""
            () => {
              window.__pan.running = false;
              const t = window.__pan.times, d = [];
              for (let i = 1; i < t.length; i++) d.push(t[i] - t[i - 1]);
              d.sort((a, b) => a - b);
              const q = p => d.length ? d[Math.min(d.length - 1, Math.floor(p * d.length))] : NaN;
              return [t.length, (t[t.length - 1] - t[0]) / 1000, q(0.5), q(0.95), d.length ? d[d.length - 1] : NaN,
                      window.__pan.badgeStep() - window.__pan.firstStep];
            }
            """);
        return new Panning((int)result[0], result[1], result[2], result[3], result[4], (int)result[5]);
    }
}
