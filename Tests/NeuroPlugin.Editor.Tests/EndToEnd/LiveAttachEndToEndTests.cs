using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using NeuroPlugin.Tests.Samples;
using NeuroPlugin.Tests.Soak;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// The editor attached to a running game in Chromium: Samples/InGameLearning runs headless with its live link
/// (<c>--inspect 0</c>) for a few thousand frames; the Game tab attaches by the URL the game printed; the game's network
/// is drawn with badges whose step advances while frames run, the dock counts more samples, a convolution's feature maps
/// of the current game frame render (more than one colour), frame times and the training budget's use show; Detach
/// leaves the game running, attaching again works, the game's end shows as the link ended; the game ends with its frame-time p99 within its frame budget (on a
/// host loaded beyond its cores, where a frame time is not a measurement, the test ends inconclusive with the figures).
/// </summary>
public sealed class LiveAttachEndToEndTests : EditorBrowserFixture
{
    /// <summary>The host's load average over the last minute (Linux), 0 where unknown.</summary>
    static double HostLoad() =>
        File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double load) ? load : 0;

    /// <summary>The step the badges show now (null before the first sample).</summary>
    async Task<long?> BadgeStepAsync() => await editor.Page.EvaluateAsync<long?>(
        "() => { const b = document.querySelector('[data-testid^=\"node-badge-\"]'); return b ? Number(b.dataset.step) : null; }");

    /// <summary>Distinct colours drawn in the canvases under the element with test id <paramref name="testId"/>.</summary>
    async Task<int> CanvasColoursAsync(string testId) => await editor.Page.EvaluateAsync<int>("""
        (id) => {
          const seen = new Set();
          for (const c of document.querySelectorAll(`[data-testid="${id}"] canvas`)) {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
          }
          return seen.size;
        }
        """, testId);

    async Task AttachAsync(string url)
    {
        var page = editor.Page;
        await page.GetByTestId("tab-game").ClickAsync();
        if (await page.GetByTestId("live-url").InputValueAsync() != url) await page.GetByTestId("live-url").FillAsync(url);
        await page.GetByTestId("live-attach").ClickAsync();
        await Assertions.Expect(page.GetByTestId("live-state")).ToHaveAttributeAsync("data-state", "attached", new() { Timeout = 20_000 });
    }

    [Test]
    public async Task AttachToTheRunningSample_GraphCurvesFeatureMapsFrameTimes_DetachAndAttachAgain()
    {
        string output = Path.Combine(Path.GetTempPath(), "neuro-live-e2e-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(output);
        var lines = new BlockingCollection<string>();
        // The game as a game runs: frames paced at 60 per second (--realtime, as when blocked on vsync), and its "GPU" on
        // its own core. On llvmpipe the GPU is the CPU: with its default threads on both of this machine's two cores, every
        // burst of the browser's or the editor's work lands inside the game's dispatches (6 paced runs: 16–49 frames of
        // 4000 over 16.7 ms, 2 of them over the p99; LP_NUM_THREADS=0, which runs each dispatch on the game's thread: 9–17,
        // most of them in the first training step's first dispatches).
        using var game = new NeuroProcess(["--frames", "4000", "--realtime", "--inspect", "0", "--monitor-every", "2", "--out", output], lines.Add,
            program: "InGameLearning.dll", environment: new Dictionary<string, string> { ["LP_NUM_THREADS"] = "0" });
        try
        {
            string? url = null;
            while (url is null && lines.TryTake(out var line, TimeSpan.FromSeconds(120)))
                url = InGameLearningReport.LinkUrl(line);
            Assert.That(url, Is.Not.Null, () => $"the game's link line:\n{game.Output}");

            var page = editor.Page;
            await AttachAsync(url!);

            // the game's network with its badges
            // the game's layers (the sample's CNN: two convolutions at least) in place of the editor's own document
            await page.WaitForFunctionAsync("() => document.querySelectorAll('.layer-node[data-type=\"Conv2d\"]').length >= 2", null, new() { Timeout = 30_000 });
            await Assertions.Expect(page.GetByTestId("app")).ToHaveAttributeAsync("data-locked", "true");
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid^=\"node-badge-\"]') !== null", null, new() { Timeout = 60_000 });

            // frame times and the training budget's use
            await Assertions.Expect(page.GetByTestId("live-frame-times")).ToHaveTextAsync(new Regex(@"^[\d.]+ / [\d.]+ ms$"));
            await Assertions.Expect(page.GetByTestId("live-budget-use")).ToHaveTextAsync(new Regex(@"^\d+ % of [\d.]+ ms$"), new() { Timeout = 20_000 });
            Assert.That(int.Parse(await page.GetByTestId("live-frames").GetAttributeAsync("data-frames") ?? "0", CultureInfo.InvariantCulture), Is.GreaterThan(0));
            Assert.That(await page.GetByTestId("live-read-only").TextContentAsync(), Does.Contain("did not enable control"));

            // curves advance while frames run: more samples, a later step on the badges
            await page.GetByTestId("dock-tab-curves").ClickAsync();
            // the count before the step: a sample arriving between the two reads then raises the count already read past
            // (read the other way round, it would raise the step read and leave the count to compare equal)
            int Samples(string text) => int.Parse(Regex.Match(text, @"^(\d+) samples").Groups[1].Value, CultureInfo.InvariantCulture);
            int firstSamples = Samples(await page.GetByTestId("dock-run").TextContentAsync() ?? "");
            long firstStep = (await BadgeStepAsync())!.Value;
            await page.WaitForFunctionAsync($"() => Number(document.querySelector('[data-testid^=\"node-badge-\"]').dataset.step) > {firstStep}", null, new() { Timeout = 60_000 });
            Assert.That(Samples(await page.GetByTestId("dock-run").TextContentAsync() ?? ""), Is.GreaterThan(firstSamples));

            // a convolution's feature maps of the game's current frame
            var conv = page.Locator(".layer-node[data-type=\"Conv2d\"]").First;
            await conv.ClickAsync();
            await page.GetByTestId("dock-tab-node").ClickAsync();
            await Assertions.Expect(page.GetByTestId("node-probe-frame")).ToHaveTextAsync(new Regex(@"^frame \d+, step \d+$"), new() { Timeout = 30_000 });
            await Assertions.Expect(page.GetByTestId("node-feature-maps")).ToBeVisibleAsync();
            Assert.That(await CanvasColoursAsync("node-feature-maps"), Is.GreaterThan(1), "the feature maps are not blank");
            await page.GetByTestId("tab-game").ClickAsync();
            string shot = await editor.ScreenshotAsync("live-attach", "The editor attached to the running InGameLearning sample");
            Assert.That(new FileInfo(shot).Length, Is.GreaterThan(10_000));

            // detach: the game goes on; attach again
            await page.GetByTestId("live-detach").ClickAsync();
            await Assertions.Expect(page.GetByTestId("live-state")).ToHaveAttributeAsync("data-state", "detached");
            Assert.That(game.HasExited, Is.False, "the game runs on after the editor detached");
            await AttachAsync(url!);
            await Assertions.Expect(page.GetByTestId("live-frame-times")).ToHaveTextAsync(new Regex(@"^[\d.]+ / [\d.]+ ms$"), new() { Timeout = 20_000 });
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid^=\"node-badge-\"]') !== null", null, new() { Timeout = 60_000 });

            // the game finishes while attached: its link closes, the editor says so
            Assert.That(game.WaitForExit(TimeSpan.FromSeconds(400)), Is.True, "the game finishes");
            await Assertions.Expect(page.GetByTestId("live-state")).ToHaveAttributeAsync("data-state", "ended", new() { Timeout = 20_000 });
            await Assertions.Expect(page.GetByTestId("live-error")).ToContainTextAsync("the game closed its live link");

            // the game's own report: every frame run, p99 within the frame budget
            string report = game.Output;
            string[] seen = report.Split(Environment.NewLine);
            Assert.That(game.ExitCode, Is.EqualTo(0), game.Error);
            double p99 = InGameLearningReport.FrameTimes(seen).P99;
            var (budgetMs, _, frames) = InGameLearningReport.OverBudget(seen);
            Assert.That(frames, Is.EqualTo(4000), report);
            // A frame time measures the machine as much as the game: on a host running more threads than it has cores (the
            // shared CI machine) the p99 says nothing about the game or the link, and the test cannot decide.
            double load = HostLoad();
            if (p99 > budgetMs && load > Environment.ProcessorCount)
                Assert.Inconclusive($"frame p99 {p99} ms over the {budgetMs} ms budget on an overloaded host (load {load:0.0} on {Environment.ProcessorCount} cores): not a measurement\n{report}");
            Assert.That(p99, Is.LessThanOrEqualTo(budgetMs), $"frame p99 within the {budgetMs} ms budget (host load {load:0.0}):\n{report}");
        }
        finally
        {
            game.Kill();
            Directory.Delete(output, recursive: true);
        }
    }
}
