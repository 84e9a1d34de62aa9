using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NeuroPlugin.Tests.Soak;

namespace NeuroPlugin.Editor.Tests.Soak;

/// <summary>
/// <c>neuro serve --folder F</c> as an external process (<see cref="NeuroProcess"/>), with an HTTP client that carries
/// its session token: the address and token come from the line it prints, as a browser would get them. Killing it is
/// a SIGKILL: nothing it has not written yet survives.
/// </summary>
sealed partial class ServeProcess : IDisposable
{
    public static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(2);

    readonly NeuroProcess process;

    ServeProcess(NeuroProcess process, int port, string token)
    {
        this.process = process;
        Port = port;
        Token = token;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Add("X-Neuro-Token", token);
    }

    public int Port { get; }
    public string Token { get; }
    public HttpClient Http { get; }
    public int ProcessId => process.Id;
    public NeuroProcess Process => process;

    [GeneratedRegex(@"NeuroPlugin editor: http://127\.0\.0\.1:(\d+)/\?token=(\S+)")]
    private static partial Regex Address();

    /// <summary>Starts the server on a free port and waits for its address.</summary>
    public static ServeProcess Start(string folder)
    {
        var address = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new NeuroProcess(["serve", "--folder", folder, "--port", "0"], line =>
        {
            if (Address().Match(line) is { Success: true } match) address.TrySetResult(match);
        });
        if (!address.Task.Wait(StartLimit))
        {
            process.Dispose();
            throw new TimeoutException($"neuro serve printed no address within {StartLimit}: {process.Output}{process.Error}");
        }
        var m = address.Task.Result;
        return new ServeProcess(process, int.Parse(m.Groups[1].Value), m.Groups[2].Value);
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="route"/>; the JSON answer, or an exception naming the status and error.</summary>
    public async Task<JsonObject> Post(string route, object body)
    {
        using var response = await Http.PostAsJsonAsync(route, body);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"POST {route}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public Task<JsonObject> Command(string json) => Post("api/document/commands", JsonNode.Parse(json)!);

    public Task<JsonObject> Save(string path) => Post("api/document/save", new { path });

    public Task<JsonObject> Open(string path) => Post("api/document/open", new { path });

    /// <summary>Builds the LeNet-like network the editor tests use: input 1×28×28 → conv 6×5×5 → ReLU → max pool →
    /// flatten → linear with <paramref name="outFeatures"/> outputs.</summary>
    public async Task BuildSmallNetwork(int outFeatures)
    {
        await Command("""{"op":"addNode","type":"Conv2d","id":"conv1","inputs":["input"],"attributes":{"outChannels":6,"kernelSize":[5,5],"padding":[0,0,0,0]}}""");
        await Command("""{"op":"addNode","type":"ReLU","id":"relu1","inputs":["conv1"]}""");
        await Command("""{"op":"addNode","type":"MaxPool2d","id":"pool1","inputs":["relu1"]}""");
        await Command("""{"op":"addNode","type":"Flatten","id":"flatten","inputs":["pool1"]}""");
        await Command("""{"op":"addNode","type":"Linear","id":"fc","inputs":["flatten"],"attributes":{"outFeatures":10}}""");
        await SetOutFeatures("fc", outFeatures);
    }

    /// <summary>Sets a Linear node's output count (the edit the kill and soak tests repeat).</summary>
    public Task<JsonObject> SetOutFeatures(string id, int outFeatures) => Post("api/document/commands",
        new JsonObject { ["op"] = "setAttributes", ["id"] = id, ["attributes"] = new JsonObject { ["outFeatures"] = outFeatures } });

    public bool Kill() => process.Kill();

    public void Dispose()
    {
        Http.Dispose();
        process.Dispose();
    }
}
