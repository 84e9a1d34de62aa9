namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>The Search tab: a tiny search started from the form grows the Pareto chart live, and a click on a front
/// point opens that candidate's model in the designer.</summary>
[Category("EndToEnd")]
public sealed class SearchEndToEndTests : EditorBrowserFixture
{
    [Test]
    public async Task ATinySearchGrowsTheChart_AndAClickOpensACandidate()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var page = editor.Page;
        await page.GetByTestId("tab-search").ClickAsync();
        // the tiny settings of the server test (the form offers the user's; these size the search for a test)
        await page.EvaluateAsync("() => { window.__neuroSearchOptions = { candidates: 3, population: 3, sampleSize: 2, trainImages: 384, validationImages: 128, epochs: 1 }; }");
        await page.GetByTestId("search-seed").FillAsync("3");
        await page.GetByTestId("search-start").ClickAsync();
        var chart = page.GetByTestId("search-chart");
        await Assertions.Expect(page.GetByTestId("search-stop")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => Number(document.querySelector('[data-testid=search-chart]').dataset.points) >= 2", null,
            new PageWaitForFunctionOptions { Timeout = 300_000, PollingInterval = 500 });
        await Assertions.Expect(page.GetByTestId("search-state")).ToContainTextAsync("finished", new() { Timeout = 300_000 });
        Assert.That(int.Parse((await chart.GetAttributeAsync("data-points"))!), Is.EqualTo(3));
        await editor.ScreenshotAsync("search-pareto", "A tiny search's candidates on the Pareto chart, the front highlighted");

        string[] at = (await chart.GetAttributeAsync("data-front-at"))!.Split(',');
        await chart.ClickAsync(new LocatorClickOptions { Position = new Position { X = float.Parse(at[0]), Y = float.Parse(at[1]) } });
        await editor.SettledAsync();
        var ids = await editor.LayerIdsAsync();
        Assert.That(ids, Does.Contain("input"));
        Assert.That(ids.Length, Is.GreaterThan(3), "the candidate's graph: input, its blocks, the head");
        await Assertions.Expect(page.GetByTestId("doc-name")).ToContainTextAsync("/candidates/c0");
    }
}
