using System.Globalization;
using NeuroPlugin.Init;
using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// The training inspector in Chromium: a monitored LeNet-5 run from the editor puts a live badge on every node, conv1's
/// panel shows histograms, filters and feature maps, the confusion matrix holds every evaluated image and its cells
/// open their images, and a second run overlays the first; a deep sigmoid network with N(0, 1) weights shows the
/// vanishing-gradient diagnostic on its first layers while the same network with ReLU and He initialization does not.
/// Small runs (hundreds of images) keep the CI time low.
/// </summary>
[Category("EndToEnd")]
public sealed class InspectorEndToEndTests : EditorBrowserFixture
{
    /// <summary>Starts a monitored CPU run of the document with SGD and momentum; waits until it has ended.</summary>
    async Task<string> TrainAsync(int epochs, int trainLimit, int testLimit, int monitorEvery, string? learningRate = null)
    {
        var page = editor.Page;
        await page.GetByTestId("tab-train").ClickAsync();
        await page.GetByTestId("train-backend").SelectOptionAsync("cpu");
        await page.GetByTestId("train-epochs").FillAsync(epochs.ToString(CultureInfo.InvariantCulture));
        await page.GetByTestId("train-limit").FillAsync(trainLimit.ToString(CultureInfo.InvariantCulture));
        await page.GetByTestId("train-testLimit").FillAsync(testLimit.ToString(CultureInfo.InvariantCulture));
        await page.GetByTestId("train-monitorEvery").FillAsync(monitorEvery.ToString(CultureInfo.InvariantCulture));
        if (learningRate is not null) await page.GetByTestId("train-lr").FillAsync(learningRate);
        await editor.ClickStartAsync();
        return await editor.WaitForTrainingEndAsync(TimeSpan.FromMinutes(4));
    }

    /// <summary>Distinct colours drawn in the canvases under the element with test id <paramref name="testId"/>, per canvas.</summary>
    async Task<int[]> CanvasColoursAsync(string testId) => await editor.Page.EvaluateAsync<int[]>("""
        (id) => {
          const root = document.querySelector(`[data-testid="${id}"]`);
          const canvases = root.tagName === 'CANVAS' ? [root] : [...root.querySelectorAll('canvas')];
          return canvases.map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const seen = new Set();
            for (let i = 0; i < d.length; i += 4) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
            return seen.size;
          });
        }
        """, testId);

    [Test]
    public async Task LeNet5_BadgesOnEveryNode_Conv1Panel_ConfusionMatrix_TwoRunsOverlay()
    {
        await editor.InsertTemplateAsync("lenet5");
        var page = editor.Page;
        // every text each badge shows from now on
        await page.EvaluateAsync("""
            () => {
              window.__badgeTexts = {};
              const record = () => document.querySelectorAll('[data-testid^="node-badge-"]').forEach(b => {
                const id = b.dataset.testid.slice('node-badge-'.length);
                (window.__badgeTexts[id] ??= []).includes(b.textContent) || window.__badgeTexts[id].push(b.textContent);
              });
              new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
            }
            """);
        Assert.That(await TrainAsync(epochs: 2, trainLimit: 640, testLimit: 200, monitorEvery: 2), Is.EqualTo("finished"));

        // a live badge on every node (the input: images per second), colour-scaled, that changed as the run went on
        string[] nodes = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "relu4", "fc3"];
        await Assertions.Expect(page.GetByTestId("node-badge-fc3")).ToHaveAttributeAsync("data-step", "40");
        foreach (string node in nodes)
            Assert.That(await page.GetByTestId($"node-badge-{node}").GetAttributeAsync("data-value"), Is.Not.Null, $"{node} has a gradient-norm badge");
        Assert.That(await page.GetByTestId("node-badge-input").InnerTextAsync(), Does.EndWith("img/s"));
        var texts = JsonNode.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.__badgeTexts)"))!.AsObject();
        foreach (string node in nodes)
            Assert.That(texts[node]!.AsArray().Count, Is.GreaterThanOrEqualTo(2), $"{node}'s badge changed: {texts[node]!.ToJsonString()}");
        await page.GetByTestId("badge-metric").SelectOptionAsync("time");
        Assert.That(await page.GetByTestId("node-badge-conv1").InnerTextAsync(), Does.EndWith("ms").Or.EndWith("µs"));
        await page.GetByTestId("heat-mode").SelectOptionAsync("time");
        await Assertions.Expect(page.GetByTestId("node-conv1")).ToHaveAttributeAsync("data-heat", "on");

        // conv1's panel: distributions and histograms over 21 samples, its 6 filters, its 6 feature maps of test image 0
        await page.GetByTestId("tab-inspector").ClickAsync();
        await editor.SelectAsync("conv1");
        await page.GetByTestId("dock-tab-node").ClickAsync();
        await Assertions.Expect(page.GetByTestId("node-histograms")).ToHaveAttributeAsync("data-samples", "21");
        await Assertions.Expect(page.GetByTestId("node-filters")).ToHaveAttributeAsync("data-tiles", "6");
        await Assertions.Expect(page.GetByTestId("node-feature-maps")).ToHaveAttributeAsync("data-tiles", "6");
        Assert.That(await CanvasColoursAsync("node-histograms"), Has.All.GreaterThan(2), "histograms drawn");
        Assert.That(await CanvasColoursAsync("node-distributions"), Has.All.GreaterThan(2), "distributions drawn");
        Assert.That(await CanvasColoursAsync("node-filters"), Has.All.GreaterThan(4), "every filter is an image, not a blank");
        Assert.That(await CanvasColoursAsync("node-feature-maps"), Has.All.GreaterThan(4), "every feature map is an image");
        Assert.That(await CanvasColoursAsync("node-probe-input"), Has.All.GreaterThan(4), "the test image");
        await editor.ScreenshotAsync("inspector-lenet5-conv1", "LeNet-5 trained with the monitor: badges on the graph, conv1's distributions, filters and feature maps");

        // the evaluation: the confusion matrix holds the 200 test images; a cell opens its images
        await page.GetByTestId("dock-tab-evaluation").ClickAsync();
        await Assertions.Expect(page.GetByTestId("evaluation-view")).ToHaveAttributeAsync("data-total", "200");
        Assert.That(await page.GetByTestId("evaluation-view").GetAttributeAsync("data-count"), Is.EqualTo("200"));
        var cells = await page.EvaluateAsync<int[][]>("() => [...document.querySelectorAll('[data-testid^=\"confusion-\"]')].filter(c => c.tagName === 'TD').map(c => c.dataset.testid.split('-').slice(1).map(Number).concat([Number(c.dataset.count)]))");
        Assert.That(cells.Sum(c => c[2]), Is.EqualTo(200), "the cells sum to the images evaluated");
        var cell = cells.Where(c => c[0] != c[1] && c[2] > 0).OrderByDescending(c => c[2]).First();
        await page.GetByTestId($"confusion-{cell[0]}-{cell[1]}").ClickAsync();
        await Assertions.Expect(page.GetByTestId("cell-images")).ToHaveAttributeAsync("data-count", cell[2].ToString(CultureInfo.InvariantCulture));
        Assert.That(await page.GetByTestId("cell-images").Locator("canvas").CountAsync(), Is.EqualTo(Math.Min(cell[2], 64)));
        Assert.That(await page.GetByTestId("confidently-wrong").Locator("figure").CountAsync(), Is.EqualTo(16));
        await editor.ScreenshotAsync("inspector-lenet5-evaluation", "The evaluation view: confusion matrix, a cell's images, per-class accuracy, the most confidently wrong");

        // the run is a file in runs/; a second run at another rate overlays it
        var runs = Directory.GetFiles(Path.Combine(editor.Folder, "runs"), "*.jsonl");
        Assert.That(runs, Has.Length.EqualTo(1));
        Assert.That(await TrainAsync(epochs: 2, trainLimit: 640, testLimit: 200, monitorEvery: 2, learningRate: "0.005"), Is.EqualTo("finished"));
        string first = "runs/" + Path.GetFileName(runs[0]);
        await page.GetByTestId("dock-tab-runs").ClickAsync();
        await page.GetByTestId($"run-overlay-{first}").CheckAsync();
        await Assertions.Expect(page.GetByTestId("runs-compare").Locator("tbody tr")).ToHaveCountAsync(2);
        await page.GetByTestId("dock-tab-curves").ClickAsync();
        await Assertions.Expect(page.GetByTestId("curve-loss")).ToHaveAttributeAsync("data-runs", "2");
        await Assertions.Expect(page.GetByTestId("curve-accuracy")).ToHaveAttributeAsync("data-runs", "2");
        // raw and smoothed loss of both runs (waited for: the live run's last samples may still be on their way)
        await Assertions.Expect(page.GetByTestId("curve-loss")).ToHaveAttributeAsync("data-points", (2 * 2 * 21).ToString(CultureInfo.InvariantCulture));
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("curves-export-csv").ClickAsync());
        string csv = File.ReadAllText(await download.PathAsync());
        Assert.That(csv.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1 + 2 * 21), "a header and every sample of both runs");
        download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("curves-export-png").ClickAsync());
        var png = File.ReadAllBytes(await download.PathAsync());
        Assert.That(png.Take(4), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        await editor.ScreenshotAsync("inspector-two-runs", "Two runs overlaid on the curves");
    }

    static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.OrdinalIgnoreCase).Length) / part.Length;

    [Test]
    public async Task ARateOf1000_IsSaidToDivergeOnce_AndItsWeightsDoNotReachTheDocument()
    {
        await editor.InsertTemplateAsync("lenet5");
        var page = editor.Page;
        Assert.That(await page.GetByTestId("doc-name").InnerTextAsync(), Is.EqualTo("untitled"), "a model template starts clean");
        Assert.That(await TrainAsync(epochs: 1, trainLimit: 320, testLimit: 100, monitorEvery: 2, learningRate: "1000"), Is.EqualTo("finished"));

        var verdict = page.GetByTestId("train-verdict");
        await Assertions.Expect(verdict).ToHaveAttributeAsync("data-diverged", "true");
        await Assertions.Expect(verdict.Locator("[data-kind=diverged]")).ToContainTextAsync("the loss became NaN");
        Assert.That(CountOf(await verdict.InnerTextAsync(), "diverged"), Is.EqualTo(1), "the run is said to diverge once: " + await verdict.InnerTextAsync());
        await Assertions.Expect(page.GetByTestId("train-weights-diverged")).ToBeVisibleAsync();
        Assert.That(await page.GetByTestId("train-last-loss").InnerTextAsync(), Is.EqualTo("NaN or ∞"));
        // the badges (gradient norm) say NaN or ∞ where the gradients held them, not the 0 of a sum over no finite value
        // (a layer whose gradient is truly 0, behind a ReLU whose input went NaN, still reads 0)
        await Assertions.Expect(page.GetByTestId("node-badge-conv1")).ToHaveTextAsync("NaN or ∞");
        var badges = await page.Locator("[data-testid^=node-badge-]").AllInnerTextsAsync();
        Assert.That(badges.Count(b => b == "NaN or ∞"), Is.GreaterThanOrEqualTo(5), string.Join(", ", badges));
        await Assertions.Expect(page.GetByTestId("dock-tab-curves")).ToContainTextAsync("⚠");

        // the document did not take the run's weights: not changed, nothing to save
        Assert.That(await page.GetByTestId("doc-name").InnerTextAsync(), Is.EqualTo("untitled"));
        var status = JsonNode.Parse(await page.EvaluateAsync<string>("async () => await (await fetch('/api/training')).text()"))!;
        Assert.That(((bool)status["diverged"]!, (string)status["weights"]!), Is.EqualTo((true, "diverged")));
        await editor.ScreenshotAsync("inspector-diverged", "A learning rate of 1000: the run diverged, its weights were not kept");
    }

    /// <summary>Ten fully connected layers of 16 units on flattened 28×28 images, <paramref name="activation"/> between them,
    /// weights from <paramref name="init"/>, saved as <paramref name="name"/> in the served folder.</summary>
    string SaveDeepNetwork(string name, Func<Activation> activation, Initializer init)
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(1, 28, 28));
        x = graph.Add("flatten", new Flatten(), x);
        int features = 28 * 28;
        for (int layer = 1; layer <= 10; layer++)
        {
            int outputs = layer == 10 ? 10 : 16;
            x = graph.Add($"fc{layer}", new Linear(features, outputs, weightInit: init), x);
            if (layer < 10) x = graph.Add($"act{layer}", activation(), x);
            features = outputs;
        }
        using var network = Network.Create(graph, new CpuBackend(), seed: 3);
        ModelFile.Save(network, Path.Combine(editor.Folder, name));
        return name;
    }

    [Test]
    public async Task DeepSigmoidWithNormalWeights_ShowsVanishingGradientsOnItsFirstLayers_ReluWithHeDoesNot()
    {
        var page = editor.Page;
        await editor.FileDialogAsync("btn-open", SaveDeepNetwork("sigmoid.neuro", Activation.Sigmoid, Initializer.Normal(0, 1)));
        Assert.That(await TrainAsync(epochs: 1, trainLimit: 640, testLimit: 100, monitorEvery: 2), Is.EqualTo("finished"));
        var flagged = (await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('[data-kind=\"vanishingGradient\"][data-testid^=\"node-diagnostic-\"]')].map(e => e.dataset.testid.slice('node-diagnostic-'.length))"))
            .OrderBy(id => int.Parse(id[2..], CultureInfo.InvariantCulture)).ToArray();
        Assert.That(flagged, Does.Contain("fc1"), "the first layer");
        var order = Enumerable.Range(1, 10).Select(k => $"fc{k}").ToArray();
        Assert.That(flagged, Is.EqualTo(order.Take(flagged.Length)), "the first layers, from the input on");
        Assert.That(await page.GetByTestId("node-diagnostic-fc1").First.GetAttributeAsync("title"), Does.Contain("threshold 2 %").And.Contain("ReLU"));
        await page.GetByTestId("dock-tab-curves").ClickAsync();
        var listed = page.GetByTestId("run-diagnostics").Locator("li[data-kind=vanishingGradient][data-node=fc1]");
        Assert.That(CountOf(await listed.InnerTextAsync(), "vanishing gradient"), Is.EqualTo(1), "the finding's kind is named once in the list");
        await editor.ScreenshotAsync("inspector-vanishing-gradient", "Ten sigmoid layers with N(0, 1) weights: the vanishing-gradient diagnostic on the first layers");

        await editor.FileDialogAsync("btn-open", SaveDeepNetwork("relu.neuro", Activation.ReLU, Initializer.KaimingNormal()));
        Assert.That(await TrainAsync(epochs: 1, trainLimit: 640, testLimit: 100, monitorEvery: 2), Is.EqualTo("finished"));
        await Assertions.Expect(page.GetByTestId("node-badge-fc1")).ToHaveAttributeAsync("data-step", "20");
        Assert.That(await page.Locator("[data-kind=vanishingGradient]").CountAsync(), Is.Zero, "ReLU with He initialization: no vanishing gradient");
        var status = JsonNode.Parse(await page.EvaluateAsync<string>("async () => await (await fetch('/api/training')).text()"))!;
        Assert.That(status["diagnostics"]!["items"]!.AsArray().Select(i => (string)i!["kind"]!), Does.Not.Contain("vanishingGradient"));
    }
}
