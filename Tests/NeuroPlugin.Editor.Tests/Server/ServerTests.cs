using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>
/// A real <c>neuro serve</c> server on a free loopback port, driven by HttpClient and ClientWebSocket: every way in
/// without the token, from a foreign host or origin, or to a path outside the folder is refused with the protocol's
/// status; the token works by header, query and cookie.
/// </summary>
public sealed partial class ServerTests : ServerFixture
{
    TempFolder outside = null!;
    TempFolder webRoot = null!;

    /// <summary>A web root of its own with a stand-in page, and a folder outside the served one.</summary>
    protected override string CreateWebRoot()
    {
        outside = new TempFolder();
        webRoot = new TempFolder();
        File.WriteAllText(webRoot.Combine("index.html"), "<!doctype html><title>NeuroPlugin editor</title>");
        return webRoot.Path;
    }

    [TearDown]
    public void DeleteFolders()
    {
        outside.Dispose();
        webRoot.Dispose();
    }

    HttpRequestMessage Request(HttpMethod method, string path, string? token, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Add(AccessGuard.HeaderName, token);
        if (body is not null) request.Content = JsonContent.Create(body);
        return request;
    }

    async Task<(HttpStatusCode Status, string Body)> Send(HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task TheRightTokenWorksAndAnythingElseIsUnauthorized()
    {
        var (status, body) = await Send(Request(HttpMethod.Get, "/api/document", server.Token));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((string)JsonNode.Parse(body)!["nodes"]![0]!["id"]!, Is.EqualTo("input"));

        (status, body) = await Send(Request(HttpMethod.Get, "/api/document", null));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("missing"));

        (status, body) = await Send(Request(HttpMethod.Get, "/api/document", server.Token[..^1] + (server.Token[^1] == 'A' ? "B" : "A")));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("wrong"));

        (status, _) = await Send(Request(HttpMethod.Post, "/api/document/commands", "wrong", new { op = "new" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));

        // static files too
        (status, _) = await Send(Request(HttpMethod.Get, "/", null));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
        (status, _) = await Send(Request(HttpMethod.Get, "/index.html", "wrong"));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task QueryTokenSetsAStrictHttpOnlyCookieThatAuthenticatesTheUi()
    {
        using var response = await client.GetAsync($"/?token={Uri.EscapeDataString(server.Token)}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("NeuroPlugin editor"));
        string cookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.That(cookie, Does.StartWith($"neuro_token_{server.Port}={server.Token}"));
        Assert.That(cookie.ToLowerInvariant(), Does.Contain("httponly").And.Contain("samesite=strict").And.Contain("path=/"));

        var request = new HttpRequestMessage(HttpMethod.Get, "/api/layers");
        request.Headers.Add("Cookie", $"neuro_token_{server.Port}={server.Token}");
        var (status, body) = await Send(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(JsonNode.Parse(body)!.AsArray().Select(l => (string)l!["type"]!), Does.Contain("Conv2d"));

        request = new HttpRequestMessage(HttpMethod.Get, "/api/layers");
        request.Headers.Add("Cookie", $"neuro_token_{server.Port}=forged");
        Assert.That((await Send(request)).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task ForeignHostIsMisdirectedAndForeignOriginIsForbidden()
    {
        var request = Request(HttpMethod.Get, "/api/document", server.Token);
        request.Headers.Host = $"attacker.example:{server.Port}";
        var (status, body) = await Send(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.MisdirectedRequest));
        Assert.That(body, Does.Contain("attacker.example"));

        request = Request(HttpMethod.Get, "/api/document", server.Token);
        request.Headers.Host = "127.0.0.1:1"; // right address, wrong port: another server's name
        Assert.That((await Send(request)).Status, Is.EqualTo(HttpStatusCode.MisdirectedRequest));

        request = Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "new" });
        request.Headers.Add("Origin", "http://attacker.example");
        (status, body) = await Send(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(body, Does.Contain("attacker.example"));

        request = Request(HttpMethod.Get, "/api/document", server.Token);
        request.Headers.Add("Origin", $"http://localhost:{server.Port}");
        request.Headers.Host = $"localhost:{server.Port}";
        Assert.That((await Send(request)).Status, Is.EqualTo(HttpStatusCode.OK), "the server's own origin is fine");
    }

    [Test]
    public async Task WebSocketNeedsTheTokenAndItsOwnOrigin()
    {
        var address = new Uri($"ws://127.0.0.1:{server.Port}/ws");
        using (var anonymous = new ClientWebSocket())
        {
            anonymous.Options.CollectHttpResponseDetails = true;
            Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(address, CancellationToken.None));
            Assert.That(anonymous.HttpStatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }
        using (var foreign = new ClientWebSocket())
        {
            foreign.Options.CollectHttpResponseDetails = true;
            foreign.Options.SetRequestHeader("Origin", "http://attacker.example");
            Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(new Uri($"{address}?token={server.Token}"), CancellationToken.None));
            Assert.That(foreign.HttpStatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"{address}?token={Uri.EscapeDataString(server.Token)}"), CancellationToken.None);
        var first = await Receive(socket);
        Assert.That((string)first["type"]!, Is.EqualTo("document"));

        // a change made over HTTP is pushed
        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "addNode", type = "Flatten", id = "flat", inputs = new[] { "input" } }));
        JsonObject pushed;
        do pushed = await Receive(socket); while ((string)pushed["type"]! != "document" || !pushed["document"]!["nodes"]!.AsArray().Any(n => (string)n!["id"]! == "flat"));
        Assert.That(pushed["document"]!["nodes"]!.AsArray().Single(n => (string)n!["id"]! == "flat")!["outputShape"]!.AsArray().Select(d => (int)d!), Is.EqualTo(new[] { 1, 784 }));
    }

    [Test]
    public async Task PathsOutsideTheFolderAreRefused()
    {
        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "insertTemplate", template = "lenet5" }));
        File.WriteAllText(outside.Combine("secret.neuro"), "not a model");
        File.CreateSymbolicLink(folder.Combine("escape.neuro"), outside.Combine("secret.neuro"));
        Directory.CreateSymbolicLink(folder.Combine("out"), outside.Path);

        foreach (var (route, path) in new[]
        {
            ("/api/document/save", "../stolen.neuro"),
            ("/api/document/save", outside.Combine("stolen.neuro")),
            ("/api/document/save", "out/stolen.neuro"),
            ("/api/document/export", "out/stolen.onnx"),
            ("/api/document/open", "escape.neuro"),
            ("/api/document/open", "../" + Path.GetFileName(outside.Path) + "/secret.neuro"),
        })
        {
            var (status, body) = await Send(Request(HttpMethod.Post, route, server.Token, new { path }));
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"{route} {path}: {body}");
            Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("outside the served folder").Or.Contain("relative to the served folder"), $"{route} {path}");
        }
        Assert.That(Directory.GetFiles(outside.Path), Is.EqualTo(new[] { outside.Combine("secret.neuro") }), "nothing was written outside");

        var (ok, saved) = await Send(Request(HttpMethod.Post, "/api/document/save", server.Token, new { path = "models/lenet.neuro" }));
        Assert.That(ok, Is.EqualTo(HttpStatusCode.OK), saved);
        Assert.That(File.Exists(folder.Combine("models", "lenet.neuro")));
        var (_, files) = await Send(Request(HttpMethod.Get, "/api/files", server.Token));
        Assert.That(JsonNode.Parse(files)!.AsArray().Select(f => (string)f!["path"]!), Is.EqualTo(new[] { "models/lenet.neuro" }), "links leading outside are not listed");
    }

    [Test]
    public async Task TheMemoryReportCountsLiveManagedBytesAfterAFullCollection()
    {
        async Task<JsonObject> Report()
        {
            var (status, body) = await Send(Request(HttpMethod.Post, "/api/diagnostics/memory", server.Token));
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
            return JsonNode.Parse(body)!.AsObject();
        }
        // the server runs in this process: 64 MiB held, then let go, shows in the live heap and leaves it again
        const long Held = 64L << 20;
        var ballast = new byte[Held];
        ballast.AsSpan().Fill(1);
        var holding = await Report();
        GC.KeepAlive(ballast);
        ballast = null;
        var released = await Report();
        Assert.That((long)holding["managedBytes"]! - (long)released["managedBytes"]!, Is.InRange(Held - (8L << 20), Held + (8L << 20)),
            $"holding {holding}, released {released}");
        Assert.That((long)released["collections"]!, Is.GreaterThanOrEqualTo((long)holding["collections"]! + 2), "two full collections a report");
        Assert.That((long)released["committedBytes"]!, Is.GreaterThanOrEqualTo((long)released["managedBytes"]!));
        Assert.That((long)released["residentBytes"]!, Is.GreaterThan(0));
        (var unauthorized, _) = await Send(Request(HttpMethod.Post, "/api/diagnostics/memory", token: null));
        Assert.That(unauthorized, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task CommandErrorsAreJsonWithTheNodeName()
    {
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "setAttributes", id = "ghost", attributes = new { } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("'ghost'"));
        (status, _) = await Send(Request(HttpMethod.Post, "/api/document/undo", server.Token));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict));
        (status, _) = await Send(Request(HttpMethod.Get, "/api/nothing", server.Token));
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task BodiesOverTheLimitAre413()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/document/commands")
        {
            Content = new StringContent("{\"op\":\"paste\",\"nodes\":[],\"pad\":\"" + new string('x', 9 << 20) + "\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(AccessGuard.HeaderName, server.Token);
        request.Headers.ExpectContinue = true; // the server answers before the body is sent
        var (status, body) = await Send(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("8 MiB"));

        // the same without a Content-Length (chunked): stopped while reading
        request = new HttpRequestMessage(HttpMethod.Post, "/api/document/commands")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 9 << 20) + "\"}"))),
        };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Add(AccessGuard.HeaderName, server.Token);
        (status, body) = await Send(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), body);
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("8 MiB"));
    }

    [Test]
    public async Task ARepeatedKeyIs400NamingIt()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/document/commands")
        {
            Content = new StringContent("{\"op\":\"undo\",\"op\":\"redo\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(AccessGuard.HeaderName, server.Token);
        var (status, body) = await Send(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("'op'"));
    }

    [Test]
    public async Task ServerFaultsAre500AndForbiddenFilesAre403WithTheirMessages()
    {
        Assert.That(EditorServer.StatusOf(new IOException("No space left on device")), Is.EqualTo(500), "the disk, not the client");
        Assert.That(EditorServer.StatusOf(new ObjectDisposedException("backend")), Is.EqualTo(500));
        Assert.That(EditorServer.StatusOf(new InvalidOperationException("a bug")), Is.EqualTo(500));
        Assert.That(EditorServer.StatusOf(new UnauthorizedAccessException("denied")), Is.EqualTo(403));
        Assert.That(EditorServer.StatusOf(new NeuroPlugin.Editor.Document.EditorConflictException("nothing to undo")), Is.EqualTo(409));
        Assert.That(EditorServer.StatusOf(new NeuroPlugin.Serialization.ModelFileException("a.neuro", "bad header")), Is.EqualTo(400), "a bad file is the client's");

        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "insertTemplate", template = "lenet5" }));
        // a file where a folder must go: the file system refuses (IOException), 500 with its message
        File.WriteAllText(folder.Combine("blocker"), "");
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/document/save", server.Token, new { path = "blocker/model.neuro" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.InternalServerError), body);
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.Contain("blocker"));
        // (403 is not provoked through the file system here: the tests may run as root, whom permissions do not stop)
    }

    [Test]
    public async Task ConnectingMidRunSendsThePointsSoFar()
    {
        string pics = folder.Combine("pics");
        for (int k = 0; k < 2; k++)
        {
            Directory.CreateDirectory(Path.Combine(pics, $"c{k}"));
            for (int i = 0; i < 5; i++)
            {
                using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(8, 8);
                image[i, k] = new SixLabors.ImageSharp.PixelFormats.L8(255);
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(pics, $"c{k}", $"{i}.png"));
            }
        }
        foreach (var command in new object[]
        {
            new { op = "setAttributes", id = "input", attributes = new { channels = 1, height = 8, width = 8 } },
            new { op = "addNode", type = "Flatten", id = "flat", inputs = new[] { "input" } },
            new { op = "addNode", type = "Linear", id = "fc", inputs = new[] { "flat" }, attributes = new { outFeatures = 2 } },
        })
            Assert.That((await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, command))).Status, Is.EqualTo(HttpStatusCode.OK));
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/training/start", server.Token,
            new { dataset = new { folder = "pics" }, backend = "cpu", batchSize = 2, epochs = 2 }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(server.Training.Wait(TimeSpan.FromSeconds(60)), Is.True);

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/ws?token={Uri.EscapeDataString(server.Token)}"), CancellationToken.None);
        JsonObject message;
        do message = await Receive(socket); while ((string)message["type"]! != "training");
        var (_, state) = await Send(Request(HttpMethod.Get, "/api/training", server.Token));
        Assert.That(message["points"]!.AsArray().Count, Is.EqualTo(JsonNode.Parse(state)!["points"]!.AsArray().Count).And.GreaterThan(0),
            "the greeting carries every point of the run, so a client that reconnects redraws the whole curve");
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        Assert.That(socket.State, Is.EqualTo(WebSocketState.Closed), "the server answers the close");
    }

    [Test]
    public async Task TrainingOverHttpReportsPointsOverTheWebSocketAndStops()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "insertTemplate", template = "lenet5" }));
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/ws?token={Uri.EscapeDataString(server.Token)}"), CancellationToken.None);

        // a short run to the end: points every 10 steps, then test accuracy at the epoch end
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/training/start", server.Token,
            new { dataset = "fashion-mnist", optimizer = "momentum", learningRate = 0.02, batchSize = 32, epochs = 1, backend = "cpu", trainLimit = 640, testLimit = 200 }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        string runId = (string)JsonNode.Parse(body)!["runId"]!;
        var messages = await TrainingMessages(socket, runId);
        var points = messages.Where(m => m["loss"] is not null).ToList();
        Assert.That((string)messages[^1]["state"]!, Is.EqualTo("finished"), messages[^1].ToJsonString());
        Assert.That(points.Take(points.Count - 1).Select(p => (long)p["step"]!), Is.EqualTo(Enumerable.Range(1, 2).Select(i => 10L * i)), "every 10 steps of the 20 batches");
        Assert.That(points[^1]["accuracy"]!.GetValue<double>(), Is.InRange(0.0, 1.0));
        Assert.That(points.All(p => float.IsFinite(p["loss"]!.GetValue<float>())));

        // a long run, stopped at its first point
        (status, body) = await Send(Request(HttpMethod.Post, "/api/training/start", server.Token,
            new { backend = "cpu", batchSize = 32, epochs = 3, trainLimit = 60000, testLimit = 100 }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        runId = (string)JsonNode.Parse(body)!["runId"]!;
        JsonObject message;
        do message = await Receive(socket); while ((string?)message["runId"] != runId || message["loss"] is null);
        (status, _) = await Send(Request(HttpMethod.Post, "/api/training/start", server.Token, new { backend = "cpu" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), "one run at a time");
        (status, body) = await Send(Request(HttpMethod.Post, "/api/training/stop", server.Token));
        Assert.That((bool)JsonNode.Parse(body)!["stopped"]!, Is.True);
        messages = await TrainingMessages(socket, runId);
        Assert.That((string)messages[^1]["state"]!, Is.EqualTo("stopped"));
        var (_, state) = await Send(Request(HttpMethod.Get, "/api/training", server.Token));
        var status2 = JsonNode.Parse(state)!;
        Assert.That((string)status2["state"]!, Is.EqualTo("stopped"));
        Assert.That(status2["points"]!.AsArray().Count, Is.LessThan(3 * 1875 / 10), "stopped long before the end");
    }

    [Test]
    public async Task TrainFormSchemaAndValuesOverHttp()
    {
        var (status, body) = await Send(Request(HttpMethod.Get, "/api/training/schema", server.Token));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var fields = JsonNode.Parse(body)!["fields"]!.AsArray().Select(f => (string)f!["name"]!).ToArray();
        Assert.That(fields[0], Is.EqualTo("dataset"));
        Assert.That(fields[^1], Is.EqualTo("backend"));
        Assert.That(fields, Does.Contain("learningRate").And.Contain("augment").And.Contain("checkpointEvery").And.Not.Contain("imageSize"));

        (status, body) = await Send(Request(HttpMethod.Get, "/api/training/form", server.Token));
        var form = JsonNode.Parse(body)!;
        Assert.That(form["values"], Is.Null, "nothing typed yet: the schema's defaults");
        long file = (long)form["file"]!;
        (status, body) = await Send(Request(HttpMethod.Put, "/api/training/form", server.Token, new { file, values = new { optimizer = "adam", gamma = "0.5", augment = new[] { "cutout" } } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(JsonNode.Parse(body)!["values"]!.ToJsonString(), Is.EqualTo("""{"optimizer":"adam","gamma":"0.5","augment":["cutout"]}"""));
        (status, body) = await Send(Request(HttpMethod.Put, "/api/training/form", server.Token, new { file, values = new { optimizer = new { name = "adam" } } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Does.StartWith("values.optimizer: a form value is a string"));

        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "new" }));
        (status, body) = await Send(Request(HttpMethod.Put, "/api/training/form", server.Token, new { file, values = new { optimizer = "sgd" } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), "the form belonged to the file that New replaced");
        (_, body) = await Send(Request(HttpMethod.Get, "/api/training/form", server.Token));
        Assert.That((long)JsonNode.Parse(body)!["file"]!, Is.Not.EqualTo(file), "a new file");
        Assert.That(JsonNode.Parse(body)!["values"], Is.Null, "with the defaults");
    }

    [Test]
    public async Task WhileARunTrainsTheNetworkEditsAre409AndMovesStillWork()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "insertTemplate", template = "lenet5" }));
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/training/start", server.Token,
            new { backend = "cpu", batchSize = 32, epochs = 3, trainLimit = 60000, testLimit = 100 }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);

        (status, body) = await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "addNode", type = "ReLU", after = "fc3" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), body);
        Assert.That((string)JsonNode.Parse(body)!["error"]!, Is.EqualTo("addNode: " + EditorServer.TrainingLockReason));
        (status, body) = await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "new" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), "replacing the document is refused too: " + body);
        (status, body) = await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token,
            new { op = "moveNodes", positions = new Dictionary<string, object> { ["fc3"] = new { x = 400, y = 900 } } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);

        await Send(Request(HttpMethod.Post, "/api/training/stop", server.Token));
        Assert.That(server.Training.Wait(TimeSpan.FromSeconds(60)), Is.True);
        (status, body) = await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "addNode", type = "ReLU", after = "fc3" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "unlocked once the run ended: " + body);
    }

    [Test]
    public async Task TemplatePreviewAnswersTheOptionsAndNamesTheFieldAtFault()
    {
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/templates/preview", server.Token, new { template = "mobilenet_v2", dataset = "fashion-mnist" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        var preview = JsonNode.Parse(body)!;
        Assert.That(preview["options"]!.ToJsonString(), Is.EqualTo("""{"inputChannels":1,"inputSize":28,"imageSize":28,"classes":10,"widthDivisor":1}"""));
        Assert.That((string)preview["label"]!, Is.EqualTo("MobileNet v2"));

        (status, body) = await Send(Request(HttpMethod.Post, "/api/templates/preview", server.Token,
            new { template = "alexnet", options = new { inputChannels = 1, inputSize = 28, imageSize = 28, classes = 10 } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        var error = JsonNode.Parse(body)!;
        Assert.That((string)error["field"]!, Is.EqualTo("imageSize"));
        Assert.That((string)error["error"]!, Does.Contain("at least 63×63"));
        (status, body) = await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token,
            new { op = "insertTemplate", template = "alexnet", options = new { inputSize = 28, imageSize = 28 } }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string)JsonNode.Parse(body)!["field"]!, Is.EqualTo("imageSize"), "the command names the field as the preview does");
    }

    /// <summary>Training messages of run <paramref name="runId"/> until its final state.</summary>
    static async Task<List<JsonObject>> TrainingMessages(ClientWebSocket socket, string runId)
    {
        var messages = new List<JsonObject>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            var message = await Receive(socket, timeout.Token);
            if ((string?)message["type"] != "training" || (string?)message["runId"] != runId) continue;
            messages.Add(message);
            if ((string)message["state"]! is "finished" or "stopped" or "failed") return messages;
        }
    }

    static async Task<JsonObject> Receive(ClientWebSocket socket, CancellationToken cancellation = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            var result = await socket.ReceiveAsync(chunk, timeout.Token);
            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage) return JsonNode.Parse(Encoding.UTF8.GetString(buffer.ToArray()))!.AsObject();
        }
    }
}
