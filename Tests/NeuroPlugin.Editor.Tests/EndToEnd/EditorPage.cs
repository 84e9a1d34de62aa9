using System.Text.Json;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// One editor session for an end-to-end test: <c>neuro serve</c>'s server started in this process on a free
/// loopback port over a fresh temporary folder, and a Chromium page (Debian's /usr/bin/chromium driven by
/// Playwright) opened on its tokenized address. The methods act as a user would (drag from the palette, drag
/// between ports, type into the side panel, press keys) and wait until the page has drawn the server's answer.
/// </summary>
public sealed class EditorPage : IAsyncDisposable
{
    /// <summary>Chromium's flags for this machine's closed network (see the env notes): no background traffic.</summary>
    public static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    public const string ChromiumPath = "/usr/bin/chromium";

    readonly EditorServer server;
    readonly IBrowserContext context;

    EditorPage(EditorServer server, IBrowserContext context, IPage page, string folder)
    {
        this.server = server;
        this.context = context;
        Page = page;
        Folder = folder;
    }

    public IPage Page { get; }

    /// <summary>The served folder (a fresh temporary directory, deleted on dispose).</summary>
    public string Folder { get; }

    /// <summary>Messages the page logged as errors, and uncaught exceptions (a test can assert there are none).</summary>
    public List<string> PageErrors { get; } = [];

    /// <summary>HTTP statuses a test provokes on purpose (a refused template preview): the browser logs them, but they
    /// are not page errors.</summary>
    public HashSet<int> ExpectedRefusals { get; } = [];

    public static async Task<EditorPage> OpenAsync(IBrowser browser)
    {
        string folder = Path.Combine(Path.GetTempPath(), "neuro-e2e-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var server = await EditorServer.StartAsync(new EditorServerOptions(folder));
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 860 } });
        var page = await context.NewPageAsync();
        var editor = new EditorPage(server, context, page, folder);
        page.PageError += (_, message) => editor.PageErrors.Add(message);
        page.Console += (_, message) =>
        {
            // A 404 for /favicon.ico is the browser's own request, not the editor's; a test may expect refusals.
            if (message.Type == "error" && !message.Text.Contains("404") && !editor.ExpectedRefusals.Any(s => message.Text.Contains($"status of {s} ")))
                editor.PageErrors.Add(message.Text);
        };
        await page.GotoAsync(server.Url);
        await page.GetByTestId("app").WaitForAsync();
        await editor.SettledAsync();
        return editor;
    }

    /// <summary>Waits until no request is pending and the page has drawn the newest document revision.</summary>
    public async Task SettledAsync(float timeoutMs = 30_000)
    {
        // Two consecutive settled readings 100 ms apart: a follow-up command (automatic layout) starts after a render.
        var started = DateTime.UtcNow;
        int quiet = 0;
        while (quiet < 2)
        {
            bool settled = await Page.EvaluateAsync<bool>(
                "() => { const app = document.querySelector('[data-testid=app]'); return !!app && window.__neuroPending === 0 && app.dataset.revision === app.dataset.renderedRevision; }");
            quiet = settled ? quiet + 1 : 0;
            if ((DateTime.UtcNow - started).TotalMilliseconds > timeoutMs) throw new TimeoutException($"the editor did not settle within {timeoutMs} ms");
            await Task.Delay(100);
        }
    }

    /// <summary>Ids of the layer nodes drawn now.</summary>
    public async Task<string[]> LayerIdsAsync() =>
        await Page.EvaluateAsync<string[]>("() => Array.from(document.querySelectorAll('.layer-node')).map(e => e.dataset.testid.slice(5))");

    /// <summary>Drags palette entry <paramref name="type"/> to (x, y) in canvas pixels; returns the new node's id.</summary>
    public async Task<string> DragLayerAsync(string type, float x, float y)
    {
        var before = (await LayerIdsAsync()).ToHashSet();
        await Page.GetByTestId($"palette-item-{type}").DragToAsync(Page.GetByTestId("canvas"),
            new LocatorDragToOptions { TargetPosition = new TargetPosition { X = x, Y = y } });
        await SettledAsync();
        var added = (await LayerIdsAsync()).Where(id => !before.Contains(id)).ToArray();
        Assert.That(added, Has.Length.EqualTo(1), $"dragging {type} from the palette adds one node");
        return added[0];
    }

    /// <summary>Double-clicks palette entry <paramref name="type"/>; returns the new node's id (the page selects it).</summary>
    public async Task<string> DoubleClickLayerAsync(string type)
    {
        var before = (await LayerIdsAsync()).ToHashSet();
        await Page.GetByTestId($"palette-item-{type}").DblClickAsync();
        await SettledAsync();
        var added = (await LayerIdsAsync()).Where(id => !before.Contains(id)).ToArray();
        Assert.That(added, Has.Length.EqualTo(1), $"double-clicking {type} in the palette adds one node");
        await Assertions.Expect(Page.GetByTestId("node-id-input")).ToHaveValueAsync(added[0]);
        return added[0];
    }

    /// <summary>Drags palette entry <paramref name="type"/> onto the shape label of the edge from <paramref name="source"/>
    /// to <paramref name="target"/>; returns the new node's id.</summary>
    public async Task<string> DropLayerOnEdgeAsync(string type, string source, string target)
    {
        var before = (await LayerIdsAsync()).ToHashSet();
        await Page.GetByTestId($"palette-item-{type}").DragToAsync(Page.GetByTestId($"edge-shape-{source}-{target}"));
        await SettledAsync();
        var added = (await LayerIdsAsync()).Where(id => !before.Contains(id)).ToArray();
        Assert.That(added, Has.Length.EqualTo(1), $"dropping {type} onto an edge adds one node");
        return added[0];
    }

    /// <summary>The canvas viewport: pan (x, y) in screen pixels and zoom, as React Flow applies it.</summary>
    public async Task<(double X, double Y, double Zoom)> ViewportAsync()
    {
        var values = await Page.EvaluateAsync<double[]>("""
            () => {
              const m = new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport')).transform);
              return [m.e, m.f, m.a];
            }
            """);
        return (values[0], values[1], values[2]);
    }

    /// <summary>The bounding box on the page of the element with test id <paramref name="testId"/>.</summary>
    public async Task<LocatorBoundingBoxResult> BoxAsync(string testId) =>
        await Page.GetByTestId(testId).BoundingBoxAsync() ?? throw new AssertionException($"{testId} is not drawn");

    /// <summary>Opens the Train tab and starts a CPU run of the document on Fashion-MNIST with plain SGD with momentum;
    /// <paramref name="testLimit"/> and <paramref name="monitorEvery"/> are left at the form's values where null.</summary>
    public async Task StartTrainingAsync(int batchSize, int epochs, int trainLimit, int? testLimit = null, int? monitorEvery = null)
    {
        static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Page.GetByTestId("tab-train").ClickAsync();
        await Page.GetByTestId("train-backend").SelectOptionAsync("cpu");
        await Page.GetByTestId("train-batch").FillAsync(Text(batchSize));
        await Page.GetByTestId("train-epochs").FillAsync(Text(epochs));
        await Page.GetByTestId("train-limit").FillAsync(Text(trainLimit));
        if (testLimit is { } test) await Page.GetByTestId("train-testLimit").FillAsync(Text(test));
        if (monitorEvery is { } every) await Page.GetByTestId("train-monitorEvery").FillAsync(Text(every));
        await ClickStartAsync();
        await Assertions.Expect(Page.GetByTestId("train-state")).ToHaveTextAsync("running");
    }

    /// <summary>Clicks Start on the Train tab and waits until the panel shows the new run (its id differs from the run shown
    /// before); returns that id. A short run may already have finished by then, so this waits for the id, not for "running".</summary>
    public async Task<string> ClickStartAsync()
    {
        var state = Page.GetByTestId("train-state");
        string? before = await state.GetAttributeAsync("data-run-id");
        await Page.GetByTestId("train-start").ClickAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            string? shown = await state.GetAttributeAsync("data-run-id");
            if (!string.IsNullOrEmpty(shown) && shown != before) return shown;
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException($"no new run shown 30 s after Start (run before: {before ?? "none"}): {await Page.GetByTestId("train-panel").InnerTextAsync()}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the Train tab shows at least <paramref name="points"/> points.</summary>
    public async Task WaitForTrainingPointsAsync(int points, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (int.Parse(await Page.GetByTestId("train-point-count").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture) < points)
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"fewer than {points} training points after {timeout}: {await Page.GetByTestId("train-panel").InnerTextAsync()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the run is no longer running; returns its final state.</summary>
    public async Task<string> WaitForTrainingEndAsync(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string state;
        while ((state = await Page.GetByTestId("train-state").InnerTextAsync()) == "running")
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"the run still runs after {timeout}");
            await Task.Delay(100);
        }
        return state;
    }

    /// <summary>Drags from <paramref name="source"/>'s output port to input port <paramref name="port"/> of <paramref name="target"/>.
    /// The minimap (pannable, so it takes the pointer) sits over the canvas's bottom-right corner, where a layout may put a
    /// port; a user would pan first, and the drag here lets the pointer through the minimap while it lasts.</summary>
    public async Task ConnectAsync(string source, string target, int port = 0)
    {
        var through = await Page.AddStyleTagAsync(new() { Content = ".react-flow__minimap, .react-flow__minimap * { pointer-events: none !important; }" });
        try
        {
            await Page.GetByTestId($"handle-out-{source}").DragToAsync(Page.GetByTestId($"handle-in-{target}-{port}"));
        }
        finally
        {
            await through.EvaluateAsync("style => style.remove()");
        }
        await SettledAsync();
    }

    /// <summary>Clicks a node so the side panel shows it.</summary>
    public async Task SelectAsync(string id)
    {
        await Page.GetByTestId($"node-{id}").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("node-id-input")).ToHaveValueAsync(id);
    }

    /// <summary>Renames the selected node in the side panel.</summary>
    public async Task RenameAsync(string id, string newId)
    {
        await SelectAsync(id);
        await Page.GetByTestId("node-id-input").FillAsync(newId);
        await Page.GetByTestId("node-id-input").PressAsync("Enter");
        await SettledAsync();
        await Page.GetByTestId($"node-{newId}").WaitForAsync();
    }

    /// <summary>Types attribute values into the side panel for node <paramref name="id"/> and applies them.</summary>
    public async Task SetAttributesAsync(string id, params (string Name, string Value)[] values)
    {
        await SelectAsync(id);
        foreach (var (name, value) in values) await Page.GetByTestId($"attr-{name}").FillAsync(value);
        // Apply stays disabled when every typed value equals the current one (fc3's default 10 outputs).
        if (await Page.GetByTestId("attr-apply").IsEnabledAsync()) await Page.GetByTestId("attr-apply").ClickAsync();
        await SettledAsync();
        foreach (var (name, value) in values)
            await Assertions.Expect(Page.GetByTestId($"attr-{name}")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex($"^{value}(, {value})*$"));
    }

    /// <summary>Clicks the automatic layout (which also fits the view) and waits for it.</summary>
    public async Task LayoutAsync()
    {
        await Page.GetByTestId("btn-layout").ClickAsync();
        await SettledAsync();
        await Task.Delay(150); // the fit runs one frame after the render
    }

    /// <summary>The shape text drawn on the edge from <paramref name="source"/> to <paramref name="target"/>.</summary>
    public Task<string> EdgeShapeAsync(string source, string target) =>
        Page.GetByTestId($"edge-shape-{source}-{target}").InnerTextAsync();

    public async Task<long> TotalParametersAsync() =>
        long.Parse((await Page.GetByTestId("total-parameters").GetAttributeAsync("data-value"))!);

    /// <summary>Double-clicks a model template in the palette, sizes it in its dialog for <paramref name="dataset"/>
    /// (<c>reference</c>: as published; <c>fashion-mnist</c>) and opens it (it replaces the document).</summary>
    public async Task InsertTemplateAsync(string template, string dataset = "reference")
    {
        await Page.GetByTestId($"palette-template-{template}").DblClickAsync();
        await Page.GetByTestId("template-dataset").SelectOptionAsync(dataset);
        // the summary of that dataset's preview: the fields hold its options
        await Page.Locator($"[data-testid=template-summary][data-dataset={dataset}]").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await Page.GetByTestId("template-insert").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("template-dialog")).ToHaveCountAsync(0, new LocatorAssertionsToHaveCountOptions { Timeout = 120_000 });
        await SettledAsync(120_000);
    }

    /// <summary>Uses the file dialog of toolbar button <paramref name="button"/> (btn-open, btn-save-as, btn-export).</summary>
    public async Task FileDialogAsync(string button, string path)
    {
        await Page.GetByTestId(button).ClickAsync();
        await Page.GetByTestId("file-path-input").FillAsync(path);
        await Page.GetByTestId("file-dialog-ok").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("file-dialog")).ToHaveCountAsync(0);
        await SettledAsync(120_000);
    }

    /// <summary>The request timings the page recorded (window.__neuroTimings).</summary>
    public async Task<IReadOnlyList<RequestTiming>> TimingsAsync()
    {
        string json = await Page.EvaluateAsync<string>("() => JSON.stringify(window.__neuroTimings)");
        return JsonSerializer.Deserialize<List<RequestTiming>>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    /// <summary>Saves a screenshot of the page into the test's work folder and attaches it to the test result.</summary>
    public async Task<string> ScreenshotAsync(string name, string description)
    {
        string directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "editor-screenshots");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        TestContext.AddTestAttachment(path, description);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await context.CloseAsync();
        await server.DisposeAsync();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } // a file still held open is left for the OS
    }
}

/// <summary>One entry of window.__neuroTimings (see Editor/Web/src/api.ts).</summary>
public sealed record RequestTiming(string What, double StartedAt, double RequestMs, double? ServerMs, double? RenderedMs, int? Revision);
