namespace NeuroPlugin.Editor.Tests.EndToEnd;

/// <summary>
/// What every end-to-end fixture shares: one Debian Chromium for the fixture (Playwright), and for each test a fresh
/// editor (<see cref="EditorPage"/>: its own server and folder) that fails the test when the page logged errors and
/// leaves a screenshot when the test failed.
/// </summary>
[NonParallelizable]
public abstract class EditorBrowserFixture
{
    IPlaywright playwright = null!;
    IBrowser browser = null!;

    /// <summary>This test's editor.</summary>
    protected EditorPage editor = null!;

    [OneTimeSetUp]
    public async Task StartBrowser()
    {
        if (!File.Exists(EditorPage.ChromiumPath))
            Assert.Fail($"{EditorPage.ChromiumPath} is missing: install Debian's chromium (.ci/setup does)");
        // The server shares this process with NUnit (one blocked thread) and Playwright's transport: on a 2-core
        // machine the pool's minimum of 2 threads would leave requests waiting for thread injection (seconds).
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = EditorPage.ChromiumPath,
            Headless = true,
            Args = EditorPage.ChromiumArgs,
        });
    }

    [OneTimeTearDown]
    public async Task StopBrowser()
    {
        await browser.CloseAsync();
        playwright.Dispose();
    }

    [SetUp]
    public async Task OpenEditor() => editor = await EditorPage.OpenAsync(browser);

    [TearDown]
    public async Task CloseEditor()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
            await editor.ScreenshotAsync("failed-" + TestContext.CurrentContext.Test.MethodName, "The page when the test failed");
        var errors = editor.PageErrors.ToArray();
        await editor.DisposeAsync();
        Assert.That(errors, Is.Empty, "the page logged errors");
    }
}
