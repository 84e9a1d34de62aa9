using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

// The train form built from the server's schema: per-optimizer defaults, a schedule's parameters, augmentation, values
// kept with the document (across tabs, a reload, and its saved file), and a run that uses what the form shows.
public sealed partial class EditorEndToEndTests
{
    [Test]
    public async Task TrainForm_TrainsWithAdamsDefaultRateAStepScheduleAndCutout_AndKeepsItsValuesWithTheDocument()
    {
        await editor.InsertTemplateAsync("lenet5");
        var page = editor.Page;
        await page.GetByTestId("tab-train").ClickAsync();

        // the runtime's optimizers, from the server; the rate follows the optimizer until the user types one
        // (the form is built from the server's schema, which the tab fetches: wait for it before reading the options)
        var optimizers = page.GetByTestId("train-optimizer").Locator("option");
        await Assertions.Expect(optimizers).ToHaveCountAsync(OptimizerCatalog.Names.Count);
        Assert.That(await optimizers.AllInnerTextsAsync(), Is.EqualTo(OptimizerCatalog.Names));
        await Assertions.Expect(page.GetByTestId("train-lr")).ToHaveValueAsync("0.02");
        await Assertions.Expect(page.GetByTestId("train-momentum")).ToHaveValueAsync("0.9");
        await page.GetByTestId("train-optimizer").SelectOptionAsync("adam");
        await Assertions.Expect(page.GetByTestId("train-lr")).ToHaveValueAsync("0.001");
        await Assertions.Expect(page.GetByTestId("train-momentum")).ToHaveCountAsync(0); // Adam has no momentum
        await Assertions.Expect(page.GetByTestId("train-gamma")).ToHaveCountAsync(0);    // cosine has no γ
        await page.GetByTestId("train-schedule").SelectOptionAsync("step");
        await page.GetByTestId("train-gamma").FillAsync("0.5");
        await Assertions.Expect(page.GetByTestId("train-stepSize")).ToHaveValueAsync("1");
        await page.GetByTestId("train-augment-cutout").CheckAsync();
        await page.GetByTestId("train-backend").SelectOptionAsync("cpu");
        await page.GetByTestId("train-epochs").FillAsync("2");
        await page.GetByTestId("train-limit").FillAsync("640");
        await page.GetByTestId("train-testLimit").FillAsync("200");

        async Task ExpectTheFormAsTyped()
        {
            await Assertions.Expect(page.GetByTestId("train-optimizer")).ToHaveValueAsync("adam");
            await Assertions.Expect(page.GetByTestId("train-lr")).ToHaveValueAsync("0.001");
            await Assertions.Expect(page.GetByTestId("train-schedule")).ToHaveValueAsync("step");
            await Assertions.Expect(page.GetByTestId("train-gamma")).ToHaveValueAsync("0.5");
            await Assertions.Expect(page.GetByTestId("train-augment-cutout")).ToBeCheckedAsync();
            await Assertions.Expect(page.GetByTestId("train-backend")).ToHaveValueAsync("cpu");
            await Assertions.Expect(page.GetByTestId("train-limit")).ToHaveValueAsync("640");
        }
        await page.GetByTestId("tab-inspector").ClickAsync();
        await page.GetByTestId("tab-train").ClickAsync();
        await ExpectTheFormAsTyped();
        await page.ReloadAsync();
        await page.GetByTestId("app").WaitForAsync();
        await editor.SettledAsync();
        await page.GetByTestId("tab-train").ClickAsync();
        await ExpectTheFormAsTyped();

        await editor.ClickStartAsync();
        var clock = Stopwatch.StartNew();
        while (await page.GetByTestId("train-state").InnerTextAsync() == "running")
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(3)), "the run finishes");
            await Task.Delay(200);
        }
        Assert.That(await page.GetByTestId("train-state").InnerTextAsync(), Is.EqualTo("finished"), await page.GetByTestId("train-panel").InnerTextAsync());

        // the run used Adam's default rate, the step schedule (γ = 0.5 after each epoch of 20 steps) and Cutout
        var status = JsonNode.Parse(await page.EvaluateAsync<string>("async () => await (await fetch('/api/training')).text()"))!;
        var options = status["options"]!;
        Assert.That((string)options["optimizer"]!, Is.EqualTo("adam"));
        Assert.That((float)options["learningRate"]!, Is.EqualTo(0.001f), "Adam's default rate");
        Assert.That(((string)options["schedule"]!, (float)options["gamma"]!, (int)options["stepSize"]!), Is.EqualTo(("step", 0.5f, 1)));
        Assert.That(options["augment"]!.AsArray().Select(a => (string)a!), Is.EqualTo(new[] { "cutout" }));
        Assert.That((long)status["totalSteps"]!, Is.EqualTo(40), "640 images in batches of 32, 2 epochs");
        var points = status["points"]!.AsArray();
        Assert.That(points.Where(p => (int)p!["epoch"]! == 0).Select(p => (float)p!["learningRate"]!), Is.All.EqualTo(0.001f));
        Assert.That(points.Where(p => (int)p!["epoch"]! == 1).Select(p => (float)p!["learningRate"]!), Is.All.EqualTo(0.0005f), "×γ after the first epoch");
        Assert.That(await page.GetByTestId("train-run-options").GetAttributeAsync("data-learning-rate"), Is.EqualTo("0.001"), "the panel shows the rate used");
        Assert.That(await page.GetByTestId("train-step").InnerTextAsync(), Does.StartWith("40 of 40"));

        // the values are saved in the .neuro file and come back with it; a new document starts from the defaults
        await editor.FileDialogAsync("btn-save-as", "adam.neuro");
        var saved = ModelFile.ReadTrainingOptions(Path.Combine(editor.Folder, "adam.neuro"))!;
        Assert.That(((string)saved["optimizer"]!, (string)saved["gamma"]!), Is.EqualTo(("adam", "0.5")));
        await page.EvaluateAsync("async () => { await fetch('/api/document/commands', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ op: 'new' }) }); }");
        await Assertions.Expect(page.GetByTestId("train-optimizer")).ToHaveValueAsync("momentum");
        await Assertions.Expect(page.GetByTestId("train-lr")).ToHaveValueAsync("0.02");
        await page.EvaluateAsync("async () => { await fetch('/api/document/open', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: 'adam.neuro' }) }); }");
        await ExpectTheFormAsTyped();
        await editor.ScreenshotAsync("training-form", "The train form from the server's schema: Adam, a step schedule and Cutout");
    }
}
