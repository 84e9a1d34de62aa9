using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Data;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Graph;
using NeuroPlugin.Layers;
using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The inspector's requests (Documentation~/EditorProtocol.md, "Inspector"): a convolution's filters, a node's feature
/// maps for a test image or an uploaded one, an evaluation of the test set, test images, and the images of a confusion
/// matrix cell. While a run trains, the work runs on its network on the training thread between two steps
/// (<see cref="TrainingSession.OnTrainingThread"/>: the monitor's <see cref="NetworkProbe"/> and evaluation); otherwise
/// on the document's network with its kept weights on the CPU. Test images are the latest run's test set, or
/// Fashion-MNIST's for a 1×28×28 network before any run.
/// </summary>
internal sealed class InspectorSession(DocumentSession document, TrainingSession training)
{
    /// <summary>Images one request returns at most.</summary>
    public const int MaxImages = 256;

    /// <summary>How long a request waits for the training thread (a step, or an epoch's evaluation) before it fails.</summary>
    static readonly TimeSpan TrainingWait = TimeSpan.FromMinutes(2);

    /// <summary><c>POST /api/inspect/filters {"node"}</c>: the convolution's weight (O, C/G, KH, KW) as O images.</summary>
    public async Task<byte[]> FiltersAsync(JsonObject body)
    {
        string? node = Text(body, "node");
        var images = await WithNetwork((network, _, monitor) =>
        {
            if (node is not null && network.Graph.Nodes.FirstOrDefault(n => n.Name == node)?.Layer is not Conv2d)
                throw new DocumentCommandException($"node: '{node}' is not a convolution: only a convolution has filters to show", "node");
            return Probing(network, monitor, probe => probe.ReadFilters(node));
        });
        return Members(json => WriteImages(json, images, null));
    }

    /// <summary><c>POST /api/inspect/featureMaps {"node", "testImage": index | "pixels": base64 (C,H,W) bytes}</c>: the
    /// node's output for that one image (eval mode), as C planes, and the image it was given.</summary>
    public async Task<byte[]> FeatureMapsAsync(JsonObject body)
    {
        string node = Text(body, "node") ?? throw new DocumentCommandException("node: name the node whose feature maps to show", "node");
        int? index = body["testImage"] is JsonValue v ? (v.TryGetValue(out int i) ? i : throw new DocumentCommandException("testImage must be an image index", "testImage")) : null;
        byte[]? uploaded = Text(body, "pixels") is string base64 ? Decode(base64) : null;
        if ((index is null) == (uploaded is null)) throw new DocumentCommandException("give either testImage (an index) or pixels (an uploaded image)", "testImage");
        var (images, input, label, inputShape) = await WithNetwork((network, test, monitor) =>
        {
            if (!network.Graph.Nodes.Any(n => n.Name == node) && !network.Graph.Inputs.Any(i => i.Name == node))
                throw new DocumentCommandException($"node: the network has no node '{node}'", "node");
            var item = network.Graph.Inputs[0].ItemShape;
            byte[] pixels;
            int? label = null;
            if (index is int n)
            {
                if (test is null) throw new EditorConflictException("no test images yet: train the network once (or upload an image)");
                if (n < 0 || n >= test.Count) throw new DocumentCommandException($"testImage {n} is outside 0..{test.Count - 1}", "testImage");
                pixels = test.GetImage(n).ToArray();
                label = test.Labels[n];
            }
            else pixels = uploaded!;
            if (pixels.Length != item.Length)
                throw new DocumentCommandException($"the image has {pixels.Length} bytes; the network's input '{network.Graph.Inputs[0].Name}' takes {item} = {item.Length}", "pixels");
            var normalization = test?.Normalization ?? FashionMnist.Normalization;
            var values = new float[pixels.Length];
            for (int p = 0; p < pixels.Length; p++) values[p] = normalization.Apply(pixels[p]);
            return (Probing(network, monitor, probe => probe.ReadFeatureMaps(node, values)), pixels, label, Enumerable.Range(0, item.Rank).Select(d => item[d]).ToArray());
        });
        return Members(json => WriteImages(json, images, () =>
        {
            json.WriteBase64String("input", input);
            json.WriteStartArray("inputShape");
            foreach (int d in inputShape) json.WriteNumberValue(d);
            json.WriteEndArray();
            if (index is int n) json.WriteNumber("testImage", n);
            if (label is int l) json.WriteNumber("label", l);
        }));
    }

    /// <summary><c>POST /api/inspect/evaluate {"limit"}</c>: the test set (its first <c>limit</c> images) evaluated now,
    /// as the monitor's evaluation record.</summary>
    public async Task<byte[]> EvaluateAsync(JsonObject body)
    {
        int? limit = body["limit"] is JsonValue v ? (v.TryGetValue(out int n) && n >= 1 ? n : throw new DocumentCommandException("limit must be an integer ≥ 1", "limit")) : null;
        var (evaluation, images) = await WithNetwork((network, test, monitor) =>
        {
            if (test is null) throw new EditorConflictException("no test images yet: train the network once");
            var images = limit is int n && n < test.Count ? test.Take(n) : test;
            if (monitor is not null) return (monitor.Evaluate(images), images);
            using var run = new ModelEvaluation(network, images);
            run.Advance(int.MaxValue, wait: true);
            return (run.Result(0, 0), images);
        });
        training.LastEvaluation = (evaluation, images);
        return Json(json => MonitorJson.Write(json, evaluation));
    }

    /// <summary><c>GET /api/inspect/images?indices=1,2,3</c>: test images by index, with their labels.</summary>
    public byte[] TestImages(string? indices)
    {
        var test = TestSet() ?? throw new EditorConflictException("no test images yet: train the network once");
        var chosen = (indices ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => int.TryParse(t, out int i) && i >= 0 && i < test.Count ? i : throw new DocumentCommandException($"indices: '{t}' is not an image index in 0..{test.Count - 1}", "indices"))
            .Take(MaxImages).ToArray();
        return Members(json => WriteTestImages(json, test, chosen, null));
    }

    /// <summary><c>GET /api/inspect/cell?label=t&amp;predicted=p&amp;limit=n</c>: the images of true class t predicted as p
    /// in the latest evaluation (a confusion matrix cell), in dataset order; at most <c>n</c> (≥ 1, at most
    /// <see cref="MaxImages"/>).</summary>
    public byte[] Cell(int label, int predicted, int limit)
    {
        var (evaluation, images) = training.LastEvaluation ?? throw new EditorConflictException("no evaluation yet: evaluate the test set first");
        int classes = evaluation.ClassNames.Count;
        foreach (var (name, value) in new[] { ("label", label), ("predicted", predicted) })
            if (value < 0 || value >= classes)
                throw new DocumentCommandException($"{name} {value} is not a class of the evaluation: 0..{classes - 1}", name);
        if (limit < 1) throw new DocumentCommandException($"limit must be at least 1, got {limit}", "limit");
        var chosen = evaluation.ImagesOf(label, predicted, images.Labels, Math.Min(limit, MaxImages)).ToArray();
        return Members(json =>
        {
            json.WriteNumber("label", label);
            json.WriteNumber("predicted", predicted);
            json.WriteNumber("count", evaluation.Confusion[label][predicted]);
            json.WriteNumber("step", evaluation.Step);
            WriteTestImages(json, images, chosen, evaluation.Predictions);
        });
    }

    /// <summary>Runs <paramref name="work"/> on the running network (on its thread), or on the document's on the CPU.</summary>
    async Task<T> WithNetwork<T>(Func<Network, ImageDataset?, TrainingMonitor?, T> work)
    {
        var queued = training.OnTrainingThread(run => work(run.Network, run.Test, run.Monitor));
        if (queued is not null) return await queued.WaitAsync(TrainingWait);
        var (graph, weights, _) = document.TrainingSnapshot();
        using var backend = new CpuBackend();
        using var network = Network.Create(graph, backend, seed: 1);
        DocumentSession.LoadWeights(network, weights);
        return work(network, TestSet(graph), null);
    }

    /// <summary>Reads a probe: the monitor's while training, else one of its own on the document's network.</summary>
    static T Probing<T>(Network network, TrainingMonitor? monitor, Func<NetworkProbe, T> read)
    {
        if (monitor is not null) return read(monitor.Probe);
        using var probe = new NetworkProbe(network);
        return read(probe);
    }

    /// <summary>The latest run's test set; before any run, Fashion-MNIST's for a network that takes 1×28×28 (when installed).</summary>
    ImageDataset? TestSet(NetworkGraph? graph = null)
    {
        if (training.TestSet is { } test) return test;
        graph ??= document.Analysis.Graph;
        if (graph is null || graph.Inputs.Count == 0) return null;
        var item = graph.Inputs[0].ItemShape;
        if (item.Rank != 3 || item[0] != 1 || item[1] != FashionMnist.ImageSize || item[2] != FashionMnist.ImageSize) return null;
        try
        {
            return training.FashionMnistSets.Test;
        }
        catch (Exception e) when (e is IOException or DatasetException)
        {
            return null;
        }
    }

    static void WriteImages(Utf8JsonWriter json, ProbeImages images, Action? more)
    {
        MonitorJson.WriteMembers(json, images);
        more?.Invoke();
    }

    static void WriteTestImages(Utf8JsonWriter json, ImageDataset test, int[] indices, IReadOnlyList<int>? predictions)
    {
        json.WriteStartArray("imageShape");
        foreach (int d in new[] { test.Channels, test.Height, test.Width }) json.WriteNumberValue(d);
        json.WriteEndArray();
        json.WriteStartArray("classes");
        foreach (string name in test.ClassNames) json.WriteStringValue(name);
        json.WriteEndArray();
        json.WriteStartArray("images");
        foreach (int i in indices)
        {
            json.WriteStartObject();
            json.WriteNumber("index", i);
            json.WriteNumber("label", test.Labels[i]);
            if (predictions is not null && i < predictions.Count) json.WriteNumber("predicted", predictions[i]);
            json.WriteBase64String("pixels", test.GetImage(i));
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>What <paramref name="write"/> writes (one JSON value), in UTF-8.</summary>
    static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var json = new Utf8JsonWriter(buffer)) write(json);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One JSON object whose members <paramref name="members"/> writes.</summary>
    static byte[] Members(Action<Utf8JsonWriter> members) => Json(json =>
    {
        json.WriteStartObject();
        members(json);
        json.WriteEndObject();
    });

    static byte[] Decode(string base64)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new DocumentCommandException("pixels must be base64 of the image's bytes (C,H,W)", "pixels");
        }
    }

    static string? Text(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new DocumentCommandException($"{name} must be a string", name),
    };
}
