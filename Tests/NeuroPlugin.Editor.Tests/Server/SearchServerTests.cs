using System.Net;
using System.Net.Http.Json;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>The architecture search over HTTP: guarded like every route, settings errors name the field, one job at a
/// time (search or training), candidates polled as they finish, and a candidate's model opens in the designer.</summary>
public sealed class SearchServerTests : ServerFixture
{
    /// <summary>The tiny search of the CLI test: a population of 3, 384 training and 128 validation images, 1 epoch.</summary>
    internal static readonly object Tiny = new
    {
        dataset = "fashion-mnist", budgetMinutes = 10, candidates = 3, population = 3, sampleSize = 2, trainImages = 384, validationImages = 128,
        epochs = 1, batchSize = 32, backend = "cpu", seed = 3,
    };

    async Task<(HttpStatusCode Status, JsonNode? Body)> Send(HttpMethod method, string path, object? body = null, string? token = "", Action<HttpRequestMessage>? change = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Add(AccessGuard.HeaderName, token == "" ? server.Token : token);
        if (body is not null) request.Content = JsonContent.Create(body);
        change?.Invoke(request);
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Test]
    public async Task RoutesNeedTheTokenTheirOwnHostAndOrigin()
    {
        Assert.That((await Send(HttpMethod.Get, "/api/search", token: null)).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await Send(HttpMethod.Post, "/api/search/start", Tiny, token: "wrong")).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await Send(HttpMethod.Post, "/api/search/stop", change: r => r.Headers.Host = $"attacker.example:{server.Port}")).Status,
            Is.EqualTo(HttpStatusCode.MisdirectedRequest));
        Assert.That((await Send(HttpMethod.Post, "/api/search/start", Tiny, change: r => r.Headers.Add("Origin", "http://attacker.example"))).Status,
            Is.EqualTo(HttpStatusCode.Forbidden));
        var (status, body) = await Send(HttpMethod.Get, "/api/search");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((string)body!["state"]!, Is.EqualTo("idle"), "nothing started");
        Assert.That(body["candidates"]!.AsArray(), Is.Empty);
        Assert.That((bool)(await Send(HttpMethod.Post, "/api/search/stop")).Body!["stopped"]!, Is.False);
    }

    [TestCase("""{"budgetMinutes":0}""", "budgetMinutes", "budgetMinutes must be a positive number")]
    [TestCase("""{"budgetMinutes":"ten"}""", "budgetMinutes", "budgetMinutes must be a number")]
    [TestCase("""{"maxParameters":1.5}""", "maxParameters", "maxParameters must be an integer")]
    [TestCase("""{"maxFlops":-4}""", "maxFlops", "maxFlops must be positive")]
    [TestCase("""{"maxMilliseconds":0}""", "maxMilliseconds", "maxMilliseconds must be positive")]
    [TestCase("""{"backend":"tpu"}""", "backend", "backend must be cpu or gl")]
    [TestCase("""{"seed":"x"}""", "seed", "seed must be an integer")]
    [TestCase("""{"dataset":"mnist"}""", "dataset", "dataset: unknown dataset \"mnist\"")]
    [TestCase("""{"dataset":{"path":"x"}}""", "dataset", "an image-folder dataset is")]
    [TestCase("""{"candidates":0}""", "candidates", "candidates must be at least 1")]
    [TestCase("""{"population":1}""", "population", "population must be at least 2")]
    [TestCase("""{"speed":1}""", "speed", "speed: unknown search field")]
    public async Task BadSettingsAre400NamingTheField(string request, string field, string message)
    {
        if (field is "maxFlops" or "maxMilliseconds" or "population") _ = Document.TemplateTests.FashionMnistOrIgnore(); // checked once the data is split
        using var content = new StringContent(request, System.Text.Encoding.UTF8, "application/json");
        using var http = new HttpRequestMessage(HttpMethod.Post, "/api/search/start") { Content = content };
        http.Headers.Add(AccessGuard.HeaderName, server.Token);
        using var response = await client.SendAsync(http);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That((string)body["error"]!, Does.Contain(message));
        Assert.That((string?)body["field"], Is.EqualTo(field));
        Assert.That((string)(await Send(HttpMethod.Get, "/api/search")).Body!["state"]!, Is.EqualTo("idle"));
    }

    [Test]
    public async Task AFolderOutsideTheServedFolderIs400()
    {
        var (status, body) = await Send(HttpMethod.Post, "/api/search/start", new { dataset = new { folder = "../elsewhere" } });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body?.ToJsonString());
        (status, body) = await Send(HttpMethod.Post, "/api/search/start", new { dataset = new { folder = "missing" } });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string)body!["error"]!, Does.Contain("'missing' is not a folder in the served folder"));
    }

    [Test]
    public async Task ATinySearchReportsItsCandidatesRefusesOtherJobsAndItsModelsOpen()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var (status, body) = await Send(HttpMethod.Post, "/api/search/start", Tiny);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        string id = (string)body!["searchId"]!;
        Assert.That((await Send(HttpMethod.Post, "/api/search/start", Tiny)).Status, Is.EqualTo(HttpStatusCode.Conflict), "one search at a time");
        await Send(HttpMethod.Post, "/api/document/commands", new { op = "insertTemplate", template = "lenet5" });
        (status, body) = await Send(HttpMethod.Post, "/api/training/start", new { backend = "cpu", epochs = 1, trainLimit = 64, testLimit = 32 });
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), "no training while a search runs");
        Assert.That((string)body!["error"]!, Does.Contain("architecture search is running"));

        Assert.That(server.Search.Wait(TimeSpan.FromMinutes(5)), Is.True);
        (_, body) = await Send(HttpMethod.Get, "/api/search");
        Assert.That((string)body!["state"]!, Is.EqualTo("finished"), body.ToJsonString());
        Assert.That((string)body["searchId"]!, Is.EqualTo(id));
        Assert.That((string)body["end"]!, Is.EqualTo("candidates"));
        var candidates = body["candidates"]!.AsArray();
        Assert.That(candidates.Select(c => (int)c!["id"]!), Is.EqualTo(new[] { 0, 1, 2 }));
        foreach (var c in candidates)
        {
            Assert.That((double)c!["accuracy"]!, Is.InRange(0.0, 1.0));
            Assert.That((double)c["latencyMs"]!, Is.GreaterThan(0));
            Assert.That((long)c["parameters"]!, Is.GreaterThan(0));
            Assert.That((long)c["flops"]!, Is.GreaterThan((long)c["parameters"]!));
            Assert.That((string)c["model"]!, Is.EqualTo($"searches/{id}/candidates/c{(int)c["id"]!:D4}.neuro"));
        }
        var front = body["front"]!.AsArray().Select(f => (int)f!).ToArray();
        Assert.That(front, Is.Not.Empty);
        Assert.That(front.All(f => candidates.Any(c => (int)c!["id"]! == f)));

        string model = (string)candidates[front[0]]!["model"]!;
        (status, body) = await Send(HttpMethod.Post, "/api/document/open", new { path = model });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        Assert.That((string)body!["path"]!, Is.EqualTo(model));
        Assert.That(body["nodes"]!.AsArray(), Is.Not.Empty);

        // a long search, stopped; training is possible again afterwards
        (status, _) = await Send(HttpMethod.Post, "/api/search/start", new { budgetMinutes = 10, trainImages = 2048, validationImages = 512, population = 4, sampleSize = 2 });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((bool)(await Send(HttpMethod.Post, "/api/search/stop")).Body!["stopped"]!, Is.True);
        Assert.That(server.Search.Wait(TimeSpan.FromMinutes(3)), Is.True);
        Assert.That((string)(await Send(HttpMethod.Get, "/api/search")).Body!["state"]!, Is.EqualTo("stopped"));
    }
}
