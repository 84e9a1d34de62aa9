namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// Adding layers as a new user does: double-clicking palette entries builds a connected chain after the selected node,
/// a layer dropped onto an edge goes into it, a Linear after a global pool is fixed with one click, and the Input's
/// side panel shows no error for its unset field.
/// </summary>
[Category("EndToEnd")]
public sealed class AddingLayersEndToEndTests : EditorBrowserFixture
{
    /// <summary>True when the boxes of two drawn nodes overlap on the page.</summary>
    async Task<bool> OverlapAsync(string a, string b)
    {
        var p = await editor.BoxAsync($"node-{a}");
        var q = await editor.BoxAsync($"node-{b}");
        return p.X < q.X + q.Width && q.X < p.X + p.Width && p.Y < q.Y + q.Height && q.Y < p.Y + p.Height;
    }

    [Test]
    public async Task DoubleClickedLayersFollowTheSelectedNode_AndALayerDroppedOnAnEdgeGoesIntoIt()
    {
        var page = editor.Page;
        // nothing selected: the first layer follows the Input, each next one the layer just added (the page selects it)
        string conv = await editor.DoubleClickLayerAsync("Conv2d");
        string relu = await editor.DoubleClickLayerAsync("ReLU");
        string pool = await editor.DoubleClickLayerAsync("MaxPool2d");
        Assert.That(await editor.EdgeShapeAsync("input", conv), Is.EqualTo("1×1×28×28"));
        Assert.That(await editor.EdgeShapeAsync(conv, relu), Is.EqualTo("1×16×28×28"));
        Assert.That(await editor.EdgeShapeAsync(relu, pool), Is.EqualTo("1×16×28×28"));
        Assert.That(await page.GetByTestId($"node-shape-{pool}").InnerTextAsync(), Is.EqualTo("1×16×14×14"));

        // the selected node decides: a batch norm after the convolution goes between it and the ReLU
        await editor.SelectAsync(conv);
        string norm = await editor.DoubleClickLayerAsync("BatchNorm2d");
        Assert.That(await editor.EdgeShapeAsync(conv, norm), Is.EqualTo("1×16×28×28"));
        Assert.That(await editor.EdgeShapeAsync(norm, relu), Is.EqualTo("1×16×28×28"));
        await Assertions.Expect(page.GetByTestId($"edge-shape-{conv}-{relu}")).ToHaveCountAsync(0);

        // a dropout dropped onto the edge ReLU → pool goes into that edge
        string dropout = await editor.DropLayerOnEdgeAsync("Dropout", relu, pool);
        Assert.That(await editor.EdgeShapeAsync(relu, dropout), Is.EqualTo("1×16×28×28"));
        Assert.That(await editor.EdgeShapeAsync(dropout, pool), Is.EqualTo("1×16×28×28"));
        await Assertions.Expect(page.GetByTestId($"edge-shape-{relu}-{pool}")).ToHaveCountAsync(0);
        Assert.That(await page.GetByTestId("doc-status").InnerTextAsync(), Is.EqualTo("valid"));

        // room was made: no two nodes of the chain overlap
        string[] chain = ["input", conv, norm, relu, dropout, pool];
        for (int i = 0; i < chain.Length; i++)
            for (int j = i + 1; j < chain.Length; j++)
                Assert.That(await OverlapAsync(chain[i], chain[j]), Is.False, $"{chain[i]} and {chain[j]} overlap");
        await editor.ScreenshotAsync("layers-added-in-place", "Layers added by double-click after the selected node and dropped onto an edge");

        // each addition is one undo step
        await page.GetByTestId("btn-undo").ClickAsync();
        await editor.SettledAsync();
        await Assertions.Expect(page.GetByTestId($"node-{dropout}")).ToHaveCountAsync(0);
        Assert.That(await editor.EdgeShapeAsync(relu, pool), Is.EqualTo("1×16×28×28"));
    }

    [Test]
    public async Task ALinearAfterAGlobalPoolIsFixedWithOneClick()
    {
        var page = editor.Page;
        await editor.DoubleClickLayerAsync("Conv2d");
        string pool = await editor.DoubleClickLayerAsync("GlobalAvgPool2d");
        string linear = await editor.DoubleClickLayerAsync("Linear");
        await Assertions.Expect(page.GetByTestId($"node-error-{linear}")).ToContainTextAsync("add a Flatten before it");
        await Assertions.Expect(page.GetByTestId("inspector-fix")).ToHaveTextAsync($"Insert a Flatten before {linear}");
        await editor.ScreenshotAsync("flatten-fix-offered", "A Linear after a global pool: the error and its one-click fix");

        await page.GetByTestId($"node-fix-{linear}").ClickAsync();
        await editor.SettledAsync();
        Assert.That(await page.GetByTestId("doc-status").InnerTextAsync(), Is.EqualTo("valid"));
        string flatten = (await editor.LayerIdsAsync()).Single(id => id.StartsWith("flatten", StringComparison.Ordinal));
        Assert.That(await editor.EdgeShapeAsync(pool, flatten), Is.EqualTo("1×16×1×1"));
        Assert.That(await editor.EdgeShapeAsync(flatten, linear), Is.EqualTo("1×16"));
        Assert.That(await page.GetByTestId($"node-shape-{linear}").InnerTextAsync(), Is.EqualTo("1×10"));
        await Assertions.Expect(page.GetByTestId($"node-fix-{linear}")).ToHaveCountAsync(0);

        // the fix is one undo step
        await page.GetByTestId("btn-undo").ClickAsync();
        await editor.SettledAsync();
        await Assertions.Expect(page.GetByTestId($"node-{flatten}")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId($"node-error-{linear}")).ToContainTextAsync("add a Flatten before it");
    }

    [Test]
    public async Task TheInputPanelShowsNoErrorForItsUnsetFeatures()
    {
        var page = editor.Page;
        await editor.SelectAsync("input");
        await Assertions.Expect(page.GetByTestId("attr-features")).ToHaveValueAsync("");
        await Assertions.Expect(page.GetByTestId("attr-features")).ToHaveAttributeAsync("placeholder", "not set");
        await Assertions.Expect(page.Locator("[data-testid^=attr-error-]")).ToHaveCountAsync(0);
        Assert.That(await page.GetByTestId("attr-apply").IsDisabledAsync(), Is.True, "nothing to apply");

        // a flat input: features set, the image fields dropped by the server
        await page.GetByTestId("attr-features").FillAsync("784");
        await page.GetByTestId("attr-apply").ClickAsync();
        await editor.SettledAsync();
        Assert.That(await page.GetByTestId("node-shape-input").InnerTextAsync(), Is.EqualTo("1×784"));
        await page.GetByTestId("attr-features").FillAsync("x");
        await Assertions.Expect(page.GetByTestId("attr-error-features")).ToHaveTextAsync("features must be an integer");
    }
}
