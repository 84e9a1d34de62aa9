using System.Globalization;
using NeuroPlugin.Models;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// Model templates from the palette: sized in their dialog for Fashion-MNIST (with the resize a model that needs larger
/// images gets), opened as one undo step, laid out and fitted so their text is readable, with expanded blocks that hold
/// their branches; a ResNet-18 sized this way trains from the editor.
/// </summary>
[Category("EndToEnd")]
public sealed class TemplatesEndToEndTests : EditorBrowserFixture
{
    [Test]
    public async Task ResNet18ForFashionMnist_IsOneUndoStep_ReadableAndItsBlocksHoldTheirBranches()
    {
        var page = editor.Page;
        await editor.InsertTemplateAsync("resnet18", "fashion-mnist");
        var expected = ModelZoo.Build("resnet18", new ModelOptions(1, 28, 10));
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(GraphCounts.Parameters(expected)), "ResNet-18 for 1×28×28 images and 10 classes");
        Assert.That(await page.GetByTestId("node-shape-input").InnerTextAsync(), Is.EqualTo("1×1×28×28"));
        Assert.That(await page.GetByTestId("node-shape-fc").InnerTextAsync(), Is.EqualTo("1×10"));
        await Assertions.Expect(page.GetByTestId($"node-{InputResize.NodeName}")).ToHaveCountAsync(0);

        // opened at a zoom where the text can be read, every module on the canvas
        await Task.Delay(150); // the fit runs one frame after the render
        var (_, _, zoom) = await editor.ViewportAsync();
        Assert.That(zoom, Is.GreaterThanOrEqualTo(0.7), "node text stays readable");
        var canvas = await editor.BoxAsync("canvas");
        foreach (string id in new[] { "input", "fc" })
        {
            var box = await editor.BoxAsync($"node-{id}");
            Assert.That(box.X >= canvas.X && box.Y >= canvas.Y && box.X + box.Width <= canvas.X + canvas.Width && box.Y + box.Height <= canvas.Y + canvas.Height,
                Is.True, $"{id} is on the canvas");
        }
        await editor.ScreenshotAsync("resnet18-fashion-mnist", "ResNet-18 sized for Fashion-MNIST, laid out in columns at a readable zoom");

        // an expanded block's frame holds its downsample branch, and no other node
        await page.GetByTestId("group-toggle-group:layer2.0").ClickAsync();
        await editor.SettledAsync();
        var frame = await editor.BoxAsync("frame-group:layer2.0");
        var members = new[] { "layer2.0.conv1", "layer2.0.bn2", "layer2.0.downsample.0", "layer2.0.downsample.1", "layer2.0.add", "layer2.0.relu" };
        foreach (string member in members)
        {
            var box = await editor.BoxAsync($"node-{member}");
            Assert.That(box.X >= frame.X && box.Y >= frame.Y && box.X + box.Width <= frame.X + frame.Width && box.Y + box.Height <= frame.Y + frame.Height,
                Is.True, $"{member} is inside its block's frame");
        }
        var inside = members.ToHashSet();
        foreach (var other in await page.Locator(".react-flow__node-layer, .react-flow__node-collapsed").AllAsync())
        {
            string id = (await other.GetAttributeAsync("data-id"))!;
            if (id.StartsWith("layer2.0.", StringComparison.Ordinal)) continue;
            var box = (await other.BoundingBoxAsync())!;
            bool overlaps = box.X < frame.X + frame.Width && frame.X < box.X + box.Width && box.Y < frame.Y + frame.Height && frame.Y < box.Y + box.Height;
            Assert.That(overlaps, Is.False, $"{id} is drawn inside layer2.0's frame");
        }
        await editor.ScreenshotAsync("resnet18-block-expanded", "An expanded ResNet block: its frame holds the downsample branch");

        // undo: the expansion (with its layout), then the whole template, each in one step
        await page.GetByTestId("btn-undo").ClickAsync();
        await editor.SettledAsync();
        await Assertions.Expect(page.GetByTestId("group-group:layer2.0")).ToBeVisibleAsync();
        await page.GetByTestId("btn-undo").ClickAsync();
        await editor.SettledAsync();
        Assert.That(await editor.LayerIdsAsync(), Is.EqualTo(new[] { "input" }), "one undo removes the template and its layout");
        Assert.That(await page.GetByTestId("btn-undo").IsDisabledAsync(), Is.True);
    }

    [Test]
    public async Task MobileNetV2_OpensInReadableColumnsOfWholeBlocks()
    {
        await editor.InsertTemplateAsync("mobilenet_v2", "fashion-mnist");
        await Task.Delay(150);
        var (_, _, zoom) = await editor.ViewportAsync();
        Assert.That(zoom, Is.GreaterThanOrEqualTo(0.7), "node text stays readable");
        var columns = new HashSet<double>();
        foreach (var node in await editor.Page.Locator(".react-flow__node-collapsed").AllAsync())
            columns.Add(Math.Round((await node.BoundingBoxAsync())!.X / 50));
        Assert.That(columns, Has.Count.GreaterThan(1), "wrapped into columns, not one thin column");
        Assert.That(await editor.Page.Locator(".react-flow__node-collapsed").CountAsync(), Is.EqualTo(21), "one group per block");
        await editor.ScreenshotAsync("mobilenet-v2-fashion-mnist", "MobileNet v2 sized for Fashion-MNIST");
    }

    [Test]
    public async Task TheDialogProposesTheSizeAModelNeeds_AndNamesTheFieldAtFault()
    {
        var page = editor.Page;
        editor.ExpectedRefusals.Add(400); // the preview of a size AlexNet cannot take
        await page.GetByTestId("palette-template-alexnet").DblClickAsync();
        await page.Locator("[data-testid=template-summary][data-dataset=fashion-mnist]").WaitForAsync();
        await Assertions.Expect(page.GetByTestId("template-inputSize")).ToHaveValueAsync("28");
        await Assertions.Expect(page.GetByTestId("template-imageSize")).ToHaveValueAsync("63");
        await Assertions.Expect(page.GetByTestId("template-classes")).ToHaveValueAsync("10");
        await Assertions.Expect(page.GetByTestId("template-summary")).ToContainTextAsync("the 28×28 input is resized to 63×63");

        await page.GetByTestId("template-imageSize").FillAsync("40");
        await Assertions.Expect(page.GetByTestId("template-error-imageSize")).ToContainTextAsync("needs images of at least 63×63");
        Assert.That(await page.GetByTestId("template-insert").IsDisabledAsync(), Is.True);
        await editor.ScreenshotAsync("template-dialog-error", "The template dialog names the field a model cannot take");

        await page.GetByTestId("template-imageSize").FillAsync("63");
        await Assertions.Expect(page.GetByTestId("template-error-imageSize")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("template-insert")).ToBeEnabledAsync();
        await page.GetByTestId("template-insert").ClickAsync();
        await editor.SettledAsync(120_000);
        var expected = InputResize.Prepend(ModelZoo.Build("alexnet", new ModelOptions(1, 63, 10)), new TensorShape(1, 28, 28));
        Assert.That(await editor.TotalParametersAsync(), Is.EqualTo(GraphCounts.Parameters(expected)));
        Assert.That(await page.GetByTestId("node-shape-input").InnerTextAsync(), Is.EqualTo("1×1×28×28"));
        Assert.That(await page.GetByTestId($"node-shape-{InputResize.NodeName}").InnerTextAsync(), Is.EqualTo("1×1×63×63"));
        Assert.That(await page.GetByTestId("doc-status").InnerTextAsync(), Is.EqualTo("valid"));
    }

    [Test]
    public async Task ResNet18SizedForFashionMnist_TrainsForAFewStepsFromTheEditor()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var page = editor.Page;
        await editor.InsertTemplateAsync("resnet18", "fashion-mnist");
        Assert.That(await page.GetByTestId("doc-status").InnerTextAsync(), Is.EqualTo("valid"));

        // no hand edits: start, wait for the first reported point (10 steps of 16 images), stop
        await editor.StartTrainingAsync(batchSize: 16, epochs: 1, trainLimit: 60000);
        await editor.WaitForTrainingPointsAsync(1, TimeSpan.FromMinutes(4));
        float loss = float.Parse(await page.GetByTestId("train-last-loss").InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.That(float.IsFinite(loss) && loss > 0f, Is.True, $"loss {loss}");
        Assert.That(loss, Is.LessThan(10f), "the loss of 10 classes starts near ln 10");
        await editor.ScreenshotAsync("resnet18-training", "ResNet-18 sized for Fashion-MNIST, training from the editor");
        await page.GetByTestId("train-stop").ClickAsync();
        Assert.That(await editor.WaitForTrainingEndAsync(TimeSpan.FromMinutes(2)), Is.EqualTo("stopped"));
        Assert.That(await page.GetByTestId("train-error").CountAsync(), Is.EqualTo(0));
    }
}
