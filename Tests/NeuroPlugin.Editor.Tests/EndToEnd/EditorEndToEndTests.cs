using System.Globalization;
using NeuroPlugin.Execution;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// The network designer end to end: Debian's Chromium (Playwright) against <c>neuro serve</c> started by the test.
/// Every figure the page shows is checked against the runtime computed here independently (ModelZoo graphs,
/// NetworkGraph.InferShapes, Network.ParameterCount, ModelFile.Load).
/// </summary>
[Category("EndToEnd")]
public sealed partial class EditorEndToEndTests : EditorBrowserFixture
{
    static string ShapeText(Tensors.TensorShape shape) => string.Join("×", shape.ToArray());

    static long ZooParameterCount(string model) => TestSupport.GraphCounts.Parameters(ModelZoo.Build(model));

    /// <summary>LeNet-5 as ModelZoo builds it: (type, id, attributes typed into the side panel).</summary>
    static readonly (string Type, string Id, (string, string)[] Attributes)[] LeNet5Layers =
    [
        ("Conv2d", "conv1", [("outChannels", "6"), ("kernelSize", "5"), ("padding", "2")]),
        ("ReLU", "relu1", []),
        ("MaxPool2d", "pool1", []),
        ("Conv2d", "conv2", [("outChannels", "16"), ("kernelSize", "5"), ("padding", "0")]),
        ("ReLU", "relu2", []),
        ("MaxPool2d", "pool2", []),
        ("Flatten", "flatten", []),
        ("Linear", "fc1", [("outFeatures", "120")]),
        ("ReLU", "relu3", []),
        ("Linear", "fc2", [("outFeatures", "84")]),
        ("ReLU", "relu4", []),
        ("Linear", "fc3", [("outFeatures", "10")]),
    ];

    [Test]
    public async Task LeNet5_BuiltFromThePalette_HasTheRuntimeShapes_AndItsSavedFileTrains()
    {
        var page = editor.Page;
        string previous = "input";
        foreach (var (type, id, attributes) in LeNet5Layers)
        {
            // Drop to the right of the laid-out chain, wire it to the previous layer, name it, set it up, lay out.
            string added = await editor.DragLayerAsync(type, 760, 180);
            await editor.ConnectAsync(previous, added);
            await editor.RenameAsync(added, id);
            if (attributes.Length > 0) await editor.SetAttributesAsync(id, attributes);
            await editor.LayoutAsync();
            previous = id;
        }

        // Every edge shows the shape the runtime infers for the zoo's LeNet-5 (batch 1).
        var zoo = ModelZoo.Build("lenet5");
        var shapes = zoo.InferShapes(1);
        foreach (var node in zoo.Nodes)
            foreach (string input in node.Inputs)
                Assert.That(await editor.EdgeShapeAsync(input, node.Name), Is.EqualTo(ShapeText(shapes[input])), $"edge {input} → {node.Name}");
        Assert.That(await page.GetByTestId("node-shape-fc3").InnerTextAsync(), Is.EqualTo("1×10"));
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(ZooParameterCount("lenet5")), "total parameters = the zoo's LeNet-5");
        Assert.That(await page.GetByTestId("doc-status").InnerTextAsync(), Is.EqualTo("valid"));
        await editor.ScreenshotAsync("lenet5-designed", "LeNet-5 built from the palette, shapes on every edge");

        await editor.FileDialogAsync("btn-save-as", "models/lenet.neuro");
        string saved = Path.Combine(editor.Folder, "models", "lenet.neuro");
        Assert.That(File.Exists(saved), Is.True, "Save writes the file under the served folder");
        Assert.That(await page.GetByTestId("doc-name").InnerTextAsync(), Is.EqualTo("models/lenet.neuro"));

        // The runtime loads the file: same graph as the zoo's, and one training step runs and changes the weights.
        var backend = new CpuBackend();
        using var network = ModelFile.Load(saved, backend);
        Assert.That(network.Graph.Nodes.Select(n => n.Name), Is.EqualTo(zoo.Nodes.Select(n => n.Name)));
        Assert.That(network.Graph.Nodes.Select(n => n.Layer.GetType()), Is.EqualTo(zoo.Nodes.Select(n => n.Layer.GetType())));
        var loadedShapes = network.Graph.InferShapes(4);
        foreach (var (name, shape) in zoo.InferShapes(4)) Assert.That(loadedShapes[name], Is.EqualTo(shape), name);
        Assert.That(network.ParameterCount, Is.EqualTo(ZooParameterCount("lenet5")));

        const int batch = 4;
        using var plan = ExecutionPlan.ForTraining(network, batch);
        using var optimizer = new Sgd(0.05f);
        var random = new Random(7);
        plan.Input.Upload(Enumerable.Range(0, batch * 28 * 28).Select(_ => (float)random.NextDouble()).ToArray());
        var targets = new float[batch * 10];
        for (int n = 0; n < batch; n++) targets[n * 10 + n] = 1f;
        plan.Target!.Upload(targets);
        float[] before = network.Parameter("fc3.weight").ToArray();
        plan.TrainStep(optimizer);
        float loss = plan.ReadLoss();
        Assert.That(float.IsFinite(loss) && loss > 0f, Is.True, $"loss {loss}");
        Assert.That(network.Parameter("fc3.weight").ToArray(), Is.Not.EqualTo(before), "one step changes fc3.weight");
    }

    [Test]
    public async Task WrongConnection_MarksTheNode_UndoRestores_RedoAndClipboardWork()
    {
        var page = editor.Page;
        string flatten = await editor.DragLayerAsync("Flatten", 760, 160);
        await editor.ConnectAsync("input", flatten);
        await editor.LayoutAsync();
        string conv = await editor.DragLayerAsync("Conv2d", 760, 160);
        await editor.ConnectAsync(flatten, conv);

        // A convolution fed a flat (1, 784) tensor: the server's shape inference names the node.
        var error = page.GetByTestId($"node-error-{conv}");
        await Assertions.Expect(error).ToBeVisibleAsync();
        string wrong = await error.InnerTextAsync();
        Assert.That(wrong, Does.StartWith(conv + ":").And.Contain("784"), "the message names the node and the shape it got");
        Assert.That(await page.GetByTestId("doc-status").InnerTextAsync(), Does.Contain("error"));
        Assert.That(await editor.EdgeShapeAsync(flatten, conv), Is.EqualTo("1×784"));
        await editor.ScreenshotAsync("wrong-connection", "A wrong connection: the node shows the server's message");

        // Ctrl+Z removes the connection (the node is back to "not connected"); Ctrl+Shift+Z and Ctrl+Y bring it back.
        async Task ExpectConnected(bool connected)
        {
            await editor.SettledAsync();
            var edge = page.GetByTestId($"edge-shape-{flatten}-{conv}");
            if (connected)
            {
                await Assertions.Expect(edge).ToHaveTextAsync("1×784");
                await Assertions.Expect(error).ToHaveTextAsync(wrong);
            }
            else
            {
                await Assertions.Expect(edge).ToHaveCountAsync(0);
                await Assertions.Expect(error).ToHaveTextAsync($"{conv}: input port 0 is not connected");
            }
        }
        await page.Locator("body").PressAsync("Control+z");
        await ExpectConnected(false);
        await page.Locator("body").PressAsync("Control+Shift+z");
        await ExpectConnected(true);
        await page.GetByTestId("btn-undo").ClickAsync();
        await ExpectConnected(false);
        await page.Locator("body").PressAsync("Control+y");
        await ExpectConnected(true);
        await page.GetByTestId("btn-undo").ClickAsync();
        await page.GetByTestId("btn-redo").ClickAsync();
        await ExpectConnected(true);

        // Copy/paste a node (Ctrl+C, Ctrl+V) and delete the copy (Delete).
        await editor.SelectAsync(flatten);
        int count = (await editor.LayerIdsAsync()).Length;
        await page.Locator("body").PressAsync("Control+c");
        await page.Locator("body").PressAsync("Control+v");
        await editor.SettledAsync();
        var ids = await editor.LayerIdsAsync();
        Assert.That(ids, Has.Length.EqualTo(count + 1), "paste adds a copy");
        string copy = ids.Single(id => id.StartsWith("flatten") && id != flatten);
        await page.Locator("body").PressAsync("Delete");
        await editor.SettledAsync();
        Assert.That(await editor.LayerIdsAsync(), Does.Not.Contain(copy), "Delete removes the selected copy");
    }

    [Test]
    public async Task ResNet18Template_ShowsTheRuntimesParameterCount_AndItsGroupsExpand()
    {
        await editor.InsertTemplateAsync("resnet18");
        long expected = ZooParameterCount("resnet18");
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(expected), "ResNet-18 parameters = ModelZoo's");
        Assert.That(expected, Is.EqualTo(11_689_512), "torchvision's resnet18 size");
        await editor.ScreenshotAsync("resnet18", "The ResNet-18 template, its modules collapsed into groups");

        // A collapsed group expands into its layers, whose shapes are drawn.
        var toggle = editor.Page.Locator("[data-testid^=group-toggle-]").First;
        string group = (await toggle.GetAttributeAsync("data-testid"))!["group-toggle-".Length..];
        int before = (await editor.LayerIdsAsync()).Length;
        await toggle.ClickAsync();
        await editor.SettledAsync();
        await Assertions.Expect(editor.Page.GetByTestId($"frame-{group}")).ToBeVisibleAsync();
        Assert.That((await editor.LayerIdsAsync()).Length, Is.GreaterThan(before), "expanding shows the group's layers");
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(expected), "expanding changes nothing in the network");
    }

    [Test]
    public async Task ShortTrainingRun_DrawsAGrowingLossCurve()
    {
        await editor.InsertTemplateAsync("lenet5");
        var page = editor.Page;
        await page.GetByTestId("tab-train").ClickAsync();
        await page.GetByTestId("train-backend").SelectOptionAsync("cpu");
        await page.GetByTestId("train-optimizer").SelectOptionAsync("momentum");
        await page.GetByTestId("train-lr").FillAsync("0.02");
        await page.GetByTestId("train-batch").FillAsync("32");
        await page.GetByTestId("train-epochs").FillAsync("1");
        await page.GetByTestId("train-limit").FillAsync("1280");
        await editor.ClickStartAsync();

        // The point count grows while the run goes (WebSocket messages), and the run finishes.
        var counts = new List<int>();
        var clock = Stopwatch.StartNew();
        string state;
        do
        {
            await Task.Delay(200);
            counts.Add(int.Parse(await page.GetByTestId("train-point-count").InnerTextAsync(), CultureInfo.InvariantCulture));
            state = await page.GetByTestId("train-state").InnerTextAsync();
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(3)), "the run finishes");
        } while (state == "running");
        Assert.That(state, Is.EqualTo("finished"), await page.GetByTestId("train-panel").InnerTextAsync());
        int final = int.Parse(await page.GetByTestId("train-point-count").InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.That(final, Is.GreaterThanOrEqualTo(4), "1280 images in batches of 32 = 40 steps, a point at least every 10");
        Assert.That(counts.Distinct().Count(), Is.GreaterThanOrEqualTo(2), $"the curve grew while training: {string.Join(",", counts)}");
        Assert.That(await page.GetByTestId("train-chart").GetAttributeAsync("data-points"), Is.EqualTo(final.ToString(CultureInfo.InvariantCulture)), "the chart holds every point");
        float loss = float.Parse(await page.GetByTestId("train-last-loss").InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.That(loss, Is.GreaterThan(0f).And.LessThan(2.3f), "Fashion-MNIST loss after 40 steps is below chance (ln 10)");
        Assert.That(await page.GetByTestId("train-last-accuracy").InnerTextAsync(), Does.EndWith("%"), "test accuracy at the epoch end");
        await editor.ScreenshotAsync("training", "A short CPU training run: live loss and accuracy");
    }

    [Test]
    public async Task ReconnectingMidRun_RedrawsEveryPointOfTheRun()
    {
        var page = editor.Page;
        // keep the page's WebSockets reachable, so the test can drop the connection as a network hiccup would
        await page.Context.AddInitScriptAsync("""
            (() => {
              const Native = window.WebSocket;
              window.__sockets = [];
              window.WebSocket = class extends Native { constructor(...args) { super(...args); window.__sockets.push(this); } };
            })();
            """);
        await page.ReloadAsync();
        await page.GetByTestId("app").WaitForAsync();
        await editor.SettledAsync();
        await editor.InsertTemplateAsync("lenet5");
        await page.GetByTestId("tab-train").ClickAsync();
        await page.GetByTestId("train-backend").SelectOptionAsync("cpu");
        await page.GetByTestId("train-batch").FillAsync("32");
        await page.GetByTestId("train-epochs").FillAsync("1");
        await page.GetByTestId("train-limit").FillAsync("2560");
        await editor.ClickStartAsync();

        var clock = Stopwatch.StartNew();
        while (int.Parse(await page.GetByTestId("train-point-count").InnerTextAsync(), CultureInfo.InvariantCulture) < 1)
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(2)), "the run reports a point");
            await Task.Delay(50);
        }
        // the client reconnects a second later: the points of that second reach it only in the status sent on connect
        await page.EvaluateAsync("() => window.__sockets.forEach((s) => s.close())");
        while (await page.GetByTestId("train-state").InnerTextAsync() == "running")
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(3)), "the run finishes");
            await Task.Delay(200);
        }
        int server = await page.EvaluateAsync<int>("async () => (await (await fetch('/api/training')).json()).points.length");
        Assert.That(server, Is.GreaterThanOrEqualTo(8), "2560 images in batches of 32 = 80 steps, a point every 10");
        Assert.That(int.Parse(await page.GetByTestId("train-point-count").InnerTextAsync(), CultureInfo.InvariantCulture), Is.EqualTo(server),
            "every point of the run is drawn, those sent while disconnected too");
        Assert.That(await page.GetByTestId("train-chart").GetAttributeAsync("data-points"), Is.EqualTo(server.ToString(CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task OnnxExport_ThenImport_ShowsTheSameNetwork()
    {
        await editor.InsertTemplateAsync("lenet5");
        long parameters = await editor.TotalParametersAsync();
        await editor.FileDialogAsync("btn-export", "lenet.onnx");
        Assert.That(File.Exists(Path.Combine(editor.Folder, "lenet.onnx")), Is.True);

        await editor.Page.GetByTestId("btn-new").ClickAsync();
        await editor.SettledAsync();
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(0));

        // The file list offers the exported file; opening it imports it.
        await editor.Page.GetByTestId("btn-open").ClickAsync();
        await editor.Page.GetByTestId("file-item-lenet.onnx").ClickAsync();
        await editor.Page.GetByTestId("file-dialog-ok").ClickAsync();
        await editor.SettledAsync(60_000);
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(parameters), "the imported ONNX model has LeNet-5's parameters");
        Assert.That(await editor.Page.GetByTestId("doc-status").InnerTextAsync(), Is.EqualTo("valid"));
        Assert.That(await editor.Page.Locator(".edge-label").CountAsync(), Is.GreaterThan(0), "imported edges show shapes");
        await editor.ScreenshotAsync("onnx-import", "An ONNX file imported for viewing and editing");
    }

    [Test]
    public async Task DenseNet121Template_OpensAndStaysResponsive()
    {
        var page = editor.Page;
        var clock = Stopwatch.StartNew();
        await editor.InsertTemplateAsync("densenet121");
        double settledMs = clock.Elapsed.TotalMilliseconds;
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(ZooParameterCount("densenet121")), "DenseNet-121 parameters = ModelZoo's");

        var insert = (await editor.TimingsAsync()).Last(t => t.What == "insertTemplate");
        Assert.That(insert.RenderedMs, Is.Not.Null, "the page recorded when it drew the template");

        // Responsive: selecting a node updates the side panel, and undo/redo of the whole template redraw.
        clock.Restart();
        await editor.SelectAsync("input");
        double selectMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        await page.GetByTestId("btn-layout").ClickAsync();
        await editor.SettledAsync(60_000);
        double layoutMs = clock.Elapsed.TotalMilliseconds;
        await page.Locator(".react-flow__controls-zoomin").ClickAsync();
        clock.Restart();
        var toggle = page.Locator("[data-testid^=group-toggle-]").First;
        await toggle.ClickAsync();
        await editor.SettledAsync(60_000);
        double expandMs = clock.Elapsed.TotalMilliseconds;
        await editor.ScreenshotAsync("densenet121", "DenseNet-121 template");

        string report =
            $"DenseNet-121 template: server request (insert + shape inference + JSON) {insert.RequestMs:F0} ms" +
            (insert.ServerMs is { } s ? $" (server {s:F0} ms)" : "") +
            $", first render {insert.RenderedMs:F0} ms after the request, settled (with automatic layout) {settledMs:F0} ms; " +
            $"select a node {selectMs:F0} ms; re-layout {layoutMs:F0} ms; expand a group {expandMs:F0} ms";
        TestContext.Out.WriteLine(report);
        string file = Path.Combine(TestContext.CurrentContext.WorkDirectory, "editor-screenshots", "densenet121-timings.txt");
        await File.WriteAllTextAsync(file, report + Environment.NewLine);
        TestContext.AddTestAttachment(file, "DenseNet-121 timings");

        Assert.That(insert.RenderedMs, Is.LessThan(20_000), "first render");
        Assert.That(selectMs, Is.LessThan(5_000), "selecting a node stays responsive");
    }
}
