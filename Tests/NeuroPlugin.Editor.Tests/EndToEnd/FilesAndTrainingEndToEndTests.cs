namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// The document around a training run and its files: the network is locked while a run trains it, New asks before it
/// throws away unsaved work and clears the last run's numbers, an imported ONNX model saves under its .neuro name,
/// a nameless path is refused, and an export says what it wrote; a run that ends before the answer to Start arrives
/// still shows as finished.
/// </summary>
[Category("EndToEnd")]
public sealed class FilesAndTrainingEndToEndTests : EditorBrowserFixture
{
    [Test]
    public async Task ARunLocksTheNetwork_AndNewAsksThenClearsTheRunsNumbers()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var page = editor.Page;
        await editor.InsertTemplateAsync("lenet5");
        await editor.StartTrainingAsync(batchSize: 32, epochs: 3, trainLimit: 60000);

        // locked: the UI says why and offers no structural edit; the server refuses one all the same
        await Assertions.Expect(page.GetByTestId("lock-banner")).ToContainTextAsync("the network is locked");
        Assert.That(await page.GetByTestId("btn-new").IsDisabledAsync(), Is.True);
        Assert.That(await page.GetByTestId("btn-open").IsDisabledAsync(), Is.True);
        Assert.That(await page.GetByTestId("palette-item-ReLU").GetAttributeAsync("draggable"), Is.EqualTo("false"));
        await page.GetByTestId("palette-item-ReLU").DblClickAsync();
        await page.GetByTestId("tab-inspector").ClickAsync();
        await editor.SelectAsync("fc3");
        await Assertions.Expect(page.GetByTestId("attr-outFeatures")).ToBeDisabledAsync();
        await Assertions.Expect(page.GetByTestId("btn-delete-node")).ToBeDisabledAsync();
        await page.Locator("body").PressAsync("Delete");
        await editor.SettledAsync();
        Assert.That(await editor.LayerIdsAsync(), Has.Length.EqualTo(13), "nothing was added or deleted");
        // another client (the page's own session cookie, not its UI) is refused too
        var refused = await page.APIRequest.PostAsync(new Uri(new Uri(page.Url), "/api/document/commands").ToString(),
            new APIRequestContextOptions { DataObject = new { op = "removeNodes", ids = new[] { "fc3" } } });
        Assert.That(refused.Status, Is.EqualTo(409));
        Assert.That(await refused.TextAsync(), Does.Contain("a training run is using this network"));
        await editor.ScreenshotAsync("locked-during-training", "While a run trains the network, edits are locked and the banner says why");

        // stopped after its first point: unlocked, its numbers on the Train tab
        await page.GetByTestId("tab-train").ClickAsync();
        await editor.WaitForTrainingPointsAsync(1, TimeSpan.FromMinutes(2));
        await page.GetByTestId("train-stop").ClickAsync();
        Assert.That(await editor.WaitForTrainingEndAsync(TimeSpan.FromMinutes(1)), Is.EqualTo("stopped"));
        await Assertions.Expect(page.GetByTestId("lock-banner")).ToHaveCountAsync(0);
        Assert.That(await page.GetByTestId("train-point-count").InnerTextAsync(), Is.Not.EqualTo("0"));

        // the trained weights are unsaved work: New asks; Cancel keeps everything
        await page.GetByTestId("btn-new").ClickAsync();
        await Assertions.Expect(page.GetByTestId("confirm-dialog")).ToContainTextAsync("not saved");
        await page.GetByTestId("confirm-cancel").ClickAsync();
        Assert.That(await editor.LayerIdsAsync(), Has.Length.EqualTo(13));
        await page.GetByTestId("btn-new").ClickAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();
        await editor.SettledAsync();
        Assert.That(await editor.LayerIdsAsync(), Is.EqualTo(new[] { "input" }));
        Assert.That(await page.GetByTestId("train-point-count").InnerTextAsync(), Is.EqualTo("0"), "the last run's numbers went with its document");
        Assert.That(await page.GetByTestId("train-state").InnerTextAsync(), Is.EqualTo("idle"));
        Assert.That(await page.GetByTestId("train-chart").GetAttributeAsync("data-points"), Is.EqualTo("0"));
        Assert.That(await page.GetByTestId("train-last-loss").InnerTextAsync(), Is.EqualTo("—"));

        // a reload does not bring them back, and a clean document is replaced without a question
        await page.ReloadAsync();
        await page.GetByTestId("app").WaitForAsync();
        await editor.SettledAsync();
        await page.GetByTestId("tab-train").ClickAsync();
        Assert.That(await page.GetByTestId("train-point-count").InnerTextAsync(), Is.EqualTo("0"));
        await page.GetByTestId("btn-new").ClickAsync();
        await editor.SettledAsync();
        await Assertions.Expect(page.GetByTestId("confirm-dialog")).ToHaveCountAsync(0);
    }

    [Test]
    public async Task AnImportedOnnxModelSavesAsNeuro_NamelessPathsAreRefused_AndExportSaysWhatItWrote()
    {
        var page = editor.Page;
        await editor.InsertTemplateAsync("lenet5");
        await editor.FileDialogAsync("btn-export", "lenet.onnx");
        await Assertions.Expect(page.GetByTestId("notice-banner")).ToHaveTextAsync("Exported lenet.onnx (ONNX, opset 14)");
        Assert.That(File.Exists(Path.Combine(editor.Folder, "lenet.onnx")), Is.True);

        await editor.FileDialogAsync("btn-open", "lenet.onnx");
        Assert.That(await page.GetByTestId("doc-name").InnerTextAsync(), Is.EqualTo("lenet.onnx"));

        // Save proposes the .neuro name and takes it
        await page.GetByTestId("btn-save").ClickAsync();
        await Assertions.Expect(page.GetByTestId("file-path-input")).ToHaveValueAsync("lenet.neuro");
        await page.GetByTestId("file-dialog-ok").ClickAsync();
        await editor.SettledAsync();
        await Assertions.Expect(page.GetByTestId("notice-banner")).ToHaveTextAsync("Saved lenet.neuro");
        Assert.That(File.Exists(Path.Combine(editor.Folder, "lenet.neuro")), Is.True);
        Assert.That(await page.GetByTestId("doc-name").InnerTextAsync(), Is.EqualTo("lenet.neuro"));

        // Save as: a bare ".neuro" is refused before anything is written; a name without its extension gets it
        await page.GetByTestId("btn-save-as").ClickAsync();
        await page.GetByTestId("file-path-input").FillAsync(".neuro");
        await Assertions.Expect(page.GetByTestId("file-path-error")).ToHaveTextAsync("give the file a name before .neuro");
        Assert.That(await page.GetByTestId("file-dialog-ok").IsDisabledAsync(), Is.True);
        await page.GetByTestId("file-path-input").FillAsync("models/copy");
        await Assertions.Expect(page.GetByTestId("file-path-target")).ToHaveTextAsync("saves models/copy.neuro");
        await page.GetByTestId("file-dialog-ok").ClickAsync();
        await editor.SettledAsync();
        Assert.That(File.Exists(Path.Combine(editor.Folder, "models", "copy.neuro")), Is.True);
        Assert.That(Directory.EnumerateFiles(editor.Folder, ".*", SearchOption.AllDirectories), Is.Empty, "no hidden, nameless file");
        await editor.ScreenshotAsync("saved-after-import", "An imported ONNX model saved as .neuro, with the confirmation");
    }

    /// <summary>
    /// A short run can send its last WebSocket message before the page handles the answer to its POST /api/training/start
    /// (a busy browser, a slow network). The route here holds that answer until the page shows the run finished: the
    /// late answer must not set the view back to "running", where nothing would ever end it.
    /// </summary>
    [Test]
    public async Task AnswerToStartArrivingAfterTheRunEnded_LeavesTheRunFinished()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var page = editor.Page;
        await editor.InsertTemplateAsync("lenet5");
        var held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync("**/api/training/start", async route =>
        {
            var answer = await route.FetchAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string state;
            while ((state = await page.GetByTestId("train-state").InnerTextAsync()) != "finished" && clock.Elapsed < TimeSpan.FromMinutes(2))
                await Task.Delay(50);
            held.TrySetResult(state);
            await route.FulfillAsync(new() { Response = answer });
        });

        await page.GetByTestId("tab-train").ClickAsync();
        await page.GetByTestId("train-backend").SelectOptionAsync("cpu");
        await page.GetByTestId("train-batch").FillAsync("32");
        await page.GetByTestId("train-epochs").FillAsync("1");
        await page.GetByTestId("train-limit").FillAsync("320");
        var answering = page.WaitForResponseAsync("**/api/training/start", new() { Timeout = 180_000 });
        await page.GetByTestId("train-start").ClickAsync();
        Assert.That(await held.Task.WaitAsync(TimeSpan.FromMinutes(3)), Is.EqualTo("finished"), "the run's own messages ended it while the answer was held");
        string runId = (string)JsonNode.Parse(await (await answering).TextAsync())!["runId"]!;

        // the answer has been handled once the page is idle again; the view still shows that run, finished
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Task.Delay(500);
        Assert.That(await page.GetByTestId("train-state").InnerTextAsync(), Is.EqualTo("finished"));
        Assert.That(await page.GetByTestId("train-state").GetAttributeAsync("data-run-id"), Is.EqualTo(runId));
        Assert.That(await page.GetByTestId("train-point-count").InnerTextAsync(), Is.Not.EqualTo("0"), "the run's points are kept");
        await Assertions.Expect(page.GetByTestId("train-start")).ToBeEnabledAsync();
        await page.UnrouteAllAsync();
    }
}
