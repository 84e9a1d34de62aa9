using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Editor.Server;
using NeuroPlugin.Layers;
using NeuroPlugin.Serialization;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>
/// The inspector's routes on a real server: the runs kept in the folder (listed, served, never outside the folder), the
/// probes, evaluations and images of a run's network, each refused without the token, from a foreign host or origin,
/// and answering bad input with 400 naming the field; the values checked against the saved model and the test set.
/// </summary>
public sealed partial class ServerTests
{
    static readonly string[] InspectorRoutes =
    [
        "GET /api/runs", "GET /api/runs/file?path=runs/a.jsonl", "POST /api/inspect/filters", "POST /api/inspect/featureMaps",
        "POST /api/inspect/evaluate", "GET /api/inspect/images?indices=0", "GET /api/inspect/cell?label=0&predicted=0",
    ];

    HttpRequestMessage Route(string route, string? token)
    {
        var (method, path) = (route.Split(' ')[0], route.Split(' ')[1]);
        return Request(new HttpMethod(method), path, token, method == "POST" ? new { node = "conv1" } : null);
    }

    [Test]
    public async Task InspectorRoutes_NeedTheTokenTheirHostAndTheirOrigin()
    {
        foreach (string route in InspectorRoutes)
        {
            Assert.That((await Send(Route(route, null))).Status, Is.EqualTo(HttpStatusCode.Unauthorized), route);
            Assert.That((await Send(Route(route, "forged"))).Status, Is.EqualTo(HttpStatusCode.Unauthorized), route);
            var request = Route(route, server.Token);
            request.Headers.Host = $"attacker.example:{server.Port}";
            Assert.That((await Send(request)).Status, Is.EqualTo(HttpStatusCode.MisdirectedRequest), route);
            request = Route(route, server.Token);
            request.Headers.Add("Origin", "http://attacker.example");
            Assert.That((await Send(request)).Status, Is.EqualTo(HttpStatusCode.Forbidden), route);
        }
    }

    /// <summary>The status, and the field the error names (null when the body names none).</summary>
    async Task<(HttpStatusCode Status, string? Field, string Body)> Refusal(HttpMethod method, string path, object? body = null)
    {
        var (status, text) = await Send(Request(method, path, server.Token, body));
        return (status, status == HttpStatusCode.OK ? null : (string?)JsonNode.Parse(text)!["field"], text);
    }

    [Test]
    public async Task RunFiles_AreListedAndServed_OnlyFromInsideTheFolder()
    {
        Directory.CreateDirectory(folder.Combine("runs"));
        Directory.CreateDirectory(folder.Combine("notes"));
        string run = """{"type":"run","name":"lenet5","startedAt":"2026-12-05T20:00:00Z","totalSteps":40,"backend":"cpu","options":{"epochs":1}}""" + "\n"
            + """{"type":"train","step":1,"epoch":0,"loss":2.3}""" + "\n" + """{"type":"train","step":2,"ep""";
        File.WriteAllText(folder.Combine("runs", "20261205-200000-abc.jsonl"), run);
        File.WriteAllText(folder.Combine("notes", "other.jsonl"), "{\"type\":\"train\",\"step\":1}\n");
        File.WriteAllText(folder.Combine("runs", "a.txt"), "not a run");
        File.WriteAllText(outside.Combine("secret.jsonl"), "{\"type\":\"run\",\"name\":\"secret\"}\n");
        File.CreateSymbolicLink(folder.Combine("runs", "escape.jsonl"), outside.Combine("secret.jsonl"));
        Directory.CreateSymbolicLink(folder.Combine("linked"), outside.Path);

        var (status, body) = await Send(Request(HttpMethod.Get, "/api/runs", server.Token));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        var entries = JsonNode.Parse(body)!.AsArray().Select(e => e!.AsObject()).ToArray();
        Assert.That(entries.Select(e => (string)e["path"]!), Is.EquivalentTo(new[] { "runs/20261205-200000-abc.jsonl", "notes/other.jsonl" }),
            "links leading outside are not listed");
        var listed = entries.Single(e => (string)e["path"]! == "runs/20261205-200000-abc.jsonl");
        Assert.That(((string)listed["name"]!, (long)listed["totalSteps"]!, (int)listed["options"]!["epochs"]!, (long)listed["bytes"]!),
            Is.EqualTo(("lenet5", 40L, 1, (long)System.Text.Encoding.UTF8.GetByteCount(run))));
        Assert.That(entries.Single(e => (string)e["path"]! == "notes/other.jsonl")["name"], Is.Null, "no run line: listed without its facts");

        using (var response = await client.SendAsync(Request(HttpMethod.Get, "/api/runs/file?path=runs/20261205-200000-abc.jsonl", server.Token)))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/x-ndjson"));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(run), "served as it is, a last line cut short included");
        }

        foreach (string path in new[] { "../secret.jsonl", outside.Combine("secret.jsonl"), "runs/escape.jsonl", "linked/secret.jsonl", "runs/a.txt", "runs/../../x.jsonl" })
        {
            var refused = await Refusal(HttpMethod.Get, $"/api/runs/file?path={Uri.EscapeDataString(path)}");
            Assert.That((refused.Status, refused.Field), Is.EqualTo((HttpStatusCode.BadRequest, "path")), $"{path}: {refused.Body}");
            Assert.That(refused.Body, Does.Not.Contain("secret\"}"), "nothing of the outside file");
        }
        Assert.That((await Refusal(HttpMethod.Get, "/api/runs/file")).Field, Is.EqualTo("path"));
        Assert.That((await Refusal(HttpMethod.Get, "/api/runs/file?path=runs/none.jsonl")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task InspectRequests_AnswerBadInputWith400NamingTheField()
    {
        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "insertTemplate", template = "lenet5" }));
        string image = Convert.ToBase64String(new byte[28 * 28]);
        foreach (var (path, body, field) in new (string, object, string)[]
        {
            ("filters", new { node = "relu1" }, "node"),
            ("filters", new { node = 5 }, "node"),
            ("featureMaps", new { }, "node"),
            ("featureMaps", new { node = "conv1" }, "testImage"),
            ("featureMaps", new { node = "conv1", testImage = 0, pixels = image }, "testImage"),
            ("featureMaps", new { node = "conv1", testImage = 1.5 }, "testImage"),
            ("featureMaps", new { node = "ghost", pixels = image }, "node"),
            ("featureMaps", new { node = "conv1", pixels = "not base64!" }, "pixels"),
            ("featureMaps", new { node = "conv1", pixels = Convert.ToBase64String(new byte[10]) }, "pixels"),
            ("evaluate", new { limit = 0 }, "limit"),
            ("evaluate", new { limit = "all" }, "limit"),
        })
        {
            var refused = await Refusal(HttpMethod.Post, $"/api/inspect/{path}", body);
            Assert.That((refused.Status, refused.Field), Is.EqualTo((HttpStatusCode.BadRequest, field)), $"{path} {System.Text.Json.JsonSerializer.Serialize(body)}: {refused.Body}");
        }
        Assert.That((await Refusal(HttpMethod.Get, "/api/inspect/cell?label=x&predicted=0")).Field, Is.EqualTo("label"));
        Assert.That((await Refusal(HttpMethod.Get, "/api/inspect/cell?label=0")).Field, Is.EqualTo("predicted"));
        Assert.That((await Refusal(HttpMethod.Get, "/api/inspect/cell?label=0&predicted=0")).Status, Is.EqualTo(HttpStatusCode.Conflict), "no evaluation yet");

        // the document's network (untrained: its seed's weights) answers an uploaded image
        var (status, answer) = await Send(Request(HttpMethod.Post, "/api/inspect/featureMaps", server.Token, new { node = "conv1", pixels = image }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), answer);
        var maps = JsonNode.Parse(answer)!;
        Assert.That(((string)maps["kind"]!, (int)maps["count"]!, (int)maps["channels"]!, (int)maps["height"]!, (int)maps["width"]!),
            Is.EqualTo(("featureMaps", 1, 6, 28, 28)));
        Assert.That(Convert.FromBase64String((string)maps["values"]!), Has.Length.EqualTo(6 * 28 * 28 * sizeof(float)));
    }

    [Test]
    public async Task ARunIsKeptAsAFile_AndItsNetworkAnswersFiltersFeatureMapsEvaluationsAndCells()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var fashion = NeuroPlugin.Data.FashionMnist.LoadTest(); // the run evaluates the first 100 test images
        await Send(Request(HttpMethod.Post, "/api/document/commands", server.Token, new { op = "insertTemplate", template = "lenet5" }));
        var (status, body) = await Send(Request(HttpMethod.Post, "/api/training/start", server.Token,
            new { backend = "cpu", batchSize = 32, epochs = 1, trainLimit = 320, testLimit = 100, monitorEvery = 5 }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(server.Training.Wait(TimeSpan.FromSeconds(120)), Is.True);
        var training = JsonNode.Parse((await Send(Request(HttpMethod.Get, "/api/training", server.Token))).Body)!;
        Assert.That(((string)training["state"]!, (string)training["weights"]!), Is.EqualTo(("finished", "kept")), training.ToJsonString());

        // the run's file: listed, its run line first, a sample at the first step and every 5, the epoch's evaluation of the 100 test images
        string runFile = (string)training["runFile"]!;
        Assert.That(runFile, Does.Match(@"^runs/\d{8}-\d{6}-[0-9a-f]{12}\.jsonl$"));
        var runs = JsonNode.Parse((await Send(Request(HttpMethod.Get, "/api/runs", server.Token))).Body)!.AsArray();
        Assert.That(runs.Single(r => (string)r!["path"]! == runFile)!["totalSteps"]!.GetValue<long>(), Is.EqualTo(10));
        var lines = (await Send(Request(HttpMethod.Get, $"/api/runs/file?path={runFile}", server.Token))).Body
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.That((string)lines[0]["type"]!, Is.EqualTo("run"));
        Assert.That(lines.Where(l => (string)l["type"]! == "train").Select(l => (long)l["step"]!), Is.EqualTo(new[] { 1L, 5L, 10L }));
        var epochEnd = lines.Single(l => (string)l["type"]! == "evaluation");
        Assert.That(epochEnd["confusion"]!.AsArray().SelectMany(r => r!.AsArray()).Sum(c => (int)c!), Is.EqualTo(100));

        // filters and feature maps equal the saved model's conv1 and a convolution computed here
        Assert.That((await Send(Request(HttpMethod.Post, "/api/document/save", server.Token, new { path = "trained.neuro" }))).Status, Is.EqualTo(HttpStatusCode.OK));
        using var backend = new CpuBackend();
        using var saved = ModelFile.Load(folder.Combine("trained.neuro"), backend);
        float[] weight = saved.Parameter("conv1.weight").ToArray(), bias = saved.Parameter("conv1.bias").ToArray();
        var filters = JsonNode.Parse((await Send(Request(HttpMethod.Post, "/api/inspect/filters", server.Token, new { }))).Body)!;
        Assert.That(((string)filters["node"]!, (int)filters["count"]!, (int)filters["channels"]!, (int)filters["height"]!), Is.EqualTo(("conv1", 6, 1, 5)));
        Assert.That(Floats(filters), Is.EqualTo(weight), "the first convolution's weights, as trained");

        var maps = JsonNode.Parse((await Send(Request(HttpMethod.Post, "/api/inspect/featureMaps", server.Token, new { node = "conv1", testImage = 3 }))).Body)!;
        Assert.That(((int)maps["label"]!, Convert.FromBase64String((string)maps["input"]!)), Is.EqualTo(((int)fashion.Labels[3], fashion.GetImage(3).ToArray())));
        var window = ((Conv2d)saved.Graph.Nodes.Single(n => n.Name == "conv1").Layer).Window;
        Assert.That(Floats(maps), Is.EqualTo(Convolve(fashion.GetImage(3).ToArray().Select(fashion.Normalization.Apply).ToArray(), 28, weight, bias, window))
            .Within(1e-4f), "conv1's output for test image 3");

        // an evaluation on request of the first 60 test images, and the images of its cells
        var evaluation = JsonNode.Parse((await Send(Request(HttpMethod.Post, "/api/inspect/evaluate", server.Token, new { limit = 60 }))).Body)!;
        var confusion = evaluation["confusion"]!.AsArray().Select(r => r!.AsArray().Select(c => (int)c!).ToArray()).ToArray();
        Assert.That(((int)evaluation["count"]!, confusion.Sum(r => r.Sum())), Is.EqualTo((60, 60)));
        for (int t = 0; t < 10; t++)
            Assert.That(confusion[t].Sum(), Is.EqualTo(fashion.Labels.Take(60).Count(l => l == t)), $"row {t}: the true class's images");
        var (label, predicted) = Enumerable.Range(0, 100).Select(i => (i / 10, i % 10)).MaxBy(c => (c.Item1 != c.Item2 ? 1 : 0, confusion[c.Item1][c.Item2]));
        var cell = JsonNode.Parse((await Send(Request(HttpMethod.Get, $"/api/inspect/cell?label={label}&predicted={predicted}&limit=2", server.Token))).Body)!;
        Assert.That((int)cell["count"]!, Is.EqualTo(confusion[label][predicted]));
        var images = cell["images"]!.AsArray();
        Assert.That(images, Has.Count.EqualTo(Math.Min(2, confusion[label][predicted])));
        foreach (var shown in images)
        {
            Assert.That(((int)shown!["label"]!, (int)shown["predicted"]!), Is.EqualTo((label, predicted)));
            Assert.That(fashion.Labels[(int)shown["index"]!], Is.EqualTo(label));
        }
        Assert.That((await Refusal(HttpMethod.Get, $"/api/inspect/cell?label={label}&predicted=10")).Field, Is.EqualTo("predicted"));
        Assert.That((await Refusal(HttpMethod.Get, $"/api/inspect/cell?label={label}&predicted=0&limit=0")).Field, Is.EqualTo("limit"));

        // test images by index, from the run's 100
        var test = JsonNode.Parse((await Send(Request(HttpMethod.Get, "/api/inspect/images?indices=0,7", server.Token))).Body)!;
        Assert.That(test["images"]!.AsArray().Select(i => ((int)i!["label"]!, Convert.FromBase64String((string)i["pixels"]!))),
            Is.EqualTo(new[] { 0, 7 }.Select(i => ((int)fashion.Labels[i], fashion.GetImage(i).ToArray()))));
        Assert.That((await Refusal(HttpMethod.Get, "/api/inspect/images?indices=0,100")).Field, Is.EqualTo("indices"), "the run tested 100 images");
    }

    static float[] Floats(JsonNode probe) => MemoryMarshal.Cast<byte, float>(Convert.FromBase64String((string)probe["values"]!)).ToArray();

    /// <summary>A single-channel convolution of an S×S image, in double: (O, 1, K, K) weights, O biases, the window's stride and padding.</summary>
    static float[] Convolve(float[] image, int size, float[] weight, float[] bias, NeuroPlugin.Backends.Window2d window)
    {
        int k = window.KernelHeight, outputs = bias.Length;
        int height = (size + window.PadTop + window.PadBottom - k) / window.StrideHeight + 1;
        int width = (size + window.PadLeft + window.PadRight - k) / window.StrideWidth + 1;
        var result = new float[outputs * height * width];
        for (int o = 0; o < outputs; o++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double sum = bias[o];
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++)
                        {
                            int row = y * window.StrideHeight + i - window.PadTop, column = x * window.StrideWidth + j - window.PadLeft;
                            if (row >= 0 && row < size && column >= 0 && column < size) sum += weight[(o * k + i) * k + j] * (double)image[row * size + column];
                        }
                    result[(o * height + y) * width + x] = (float)sum;
                }
        return result;
    }
}
