namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>What the server fixtures share: for each test a real <c>neuro serve</c> on a free loopback port over a fresh
/// folder, and an HttpClient on it that keeps no cookies (a test sends the token the way it checks); all disposed after
/// the test.</summary>
public abstract class ServerFixture
{
    private protected TempFolder folder = null!;
    private protected EditorServer server = null!;
    private protected HttpClient client = null!;

    /// <summary>The folder the server serves the page from, made ready before the server starts: the served folder
    /// itself unless a fixture brings its own.</summary>
    protected virtual string CreateWebRoot() => folder.Path;

    [SetUp]
    public async Task StartServer()
    {
        folder = new TempFolder();
        server = await EditorServer.StartAsync(new EditorServerOptions(folder.Path, 0, CreateWebRoot()));
        client = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
    }

    [TearDown]
    public async Task StopServer()
    {
        client.Dispose();
        await server.DisposeAsync();
        folder.Dispose();
    }
}
