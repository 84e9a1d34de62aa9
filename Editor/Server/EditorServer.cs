using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Editor.Document;

namespace NeuroPlugin.Editor.Server;

/// <summary>Where and how <see cref="EditorServer"/> runs.</summary>
/// <param name="Folder">Root of every file operation.</param>
/// <param name="Port">TCP port on 127.0.0.1; 0 takes a free one.</param>
/// <param name="WebRoot">The built UI (index.html and assets); default the executable's <c>wwwroot/</c>.</param>
/// <param name="Token">The session token; default a fresh random one.</param>
internal sealed record EditorServerOptions(string Folder, int Port = 0, string? WebRoot = null, string? Token = null);

/// <summary>
/// <c>neuro serve</c>'s server: ASP.NET Core on 127.0.0.1 only, every request through <see cref="AccessGuard"/>,
/// the document API over <see cref="DocumentSession"/>, training over <see cref="TrainingSession"/>, the runs kept in
/// the folder (<see cref="RunFiles"/>), the inspector's probes and evaluations (<see cref="InspectorSession"/>), a running
/// game attached over its live link (<see cref="LiveSession"/>), pushes
/// over <see cref="WebSocketHub"/>, and the built UI as static files. The protocol is Documentation~/EditorProtocol.md.
/// </summary>
internal sealed class EditorServer : IAsyncDisposable
{
    readonly WebApplication app;
    readonly WebSocketHub hub;

    EditorServer(WebApplication app, FolderGuard folder, string token, string webRoot)
    {
        this.app = app;
        Folder = folder;
        Token = token;
        WebRoot = webRoot;
        Document = new DocumentSession(folder);
        Training = new TrainingSession(Document);
        Inspector = new InspectorSession(Document, Training);
        Search = new SearchSession(folder, () => Training.IsRunning ? "a training run is running" : null);
        Live = new LiveSession(folder);
        hub = new WebSocketHub(TrainingMessage);
        Document.StructureLock = () => Training.IsRunning ? TrainingLockReason : null;
        Document.Changed += () => hub.Broadcast(HubMessageKind.Document, DocumentMessage());
        Training.Message += hub.Broadcast;
        Live.Message += hub.Broadcast;
    }

    /// <summary>Why the network may not change while a run trains it (<see cref="DocumentSession.StructureLock"/>).</summary>
    public const string TrainingLockReason =
        "a training run is using this network: stop it before changing layers, connections or the document (moving nodes and collapsing groups still work)";

    /// <summary>Largest request body the API reads: 8 MiB (a pasted clipboard of a large network fits); larger is 413.</summary>
    public const long MaxRequestBodyBytes = 8L << 20;

    public FolderGuard Folder { get; }
    public string Token { get; }
    public string WebRoot { get; }
    public DocumentSession Document { get; }
    public TrainingSession Training { get; }
    public InspectorSession Inspector { get; }
    /// <summary>The game attached over its live link, if any.</summary>
    public LiveSession Live { get; }
    /// <summary>The WebSocket clients (tests read their outboxes).</summary>
    internal WebSocketHub Hub => hub;
    public SearchSession Search { get; }
    /// <summary>The port the server listens on (the real one when 0 was asked).</summary>
    public int Port { get; private set; }
    /// <summary>What <c>neuro serve</c> prints: the address with the token.</summary>
    public string Url => $"http://127.0.0.1:{Port}/?token={Token}";
    /// <summary>The address without the token.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>Starts listening; returns once the port is bound.</summary>
    public static async Task<EditorServer> StartAsync(EditorServerOptions options)
    {
        var folder = new FolderGuard(options.Folder);
        string token = options.Token ?? AccessGuard.NewToken();
        string webRoot = Path.GetFullPath(options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot"));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, options.Port));
        var app = builder.Build();
        var server = new EditorServer(app, folder, token, webRoot);
        server.Configure();
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        server.Port = new Uri(addresses.First()).Port;
        return server;
    }

    void Configure()
    {
        var guard = new AccessGuard(Token, () => Port);
        app.Use(guard.InvokeAsync);
        app.Use(ReportErrors);
        app.UseWebSockets();
        app.Map("/ws", (HttpContext context) => hub.Accept(context, () => [DocumentMessage(), TrainingMessage(), Live.StatusJson()]));

        app.MapGet("/api/document", () => Json(Document.ToJson()));
        app.MapPost("/api/document/commands", async Task<IResult> (HttpContext context) =>
        {
            var command = await Body(context);
            if (command["op"] is JsonValue v && v.TryGetValue(out string? op) && op == "copy")
                return Json(Encoding.UTF8.GetBytes(Document.Copy(Strings(command, "ids")).ToJsonString()));
            Document.Execute(command);
            return Json(Document.ToJson());
        });
        app.MapPost("/api/document/undo", () => { Document.Undo(); return Json(Document.ToJson()); });
        app.MapPost("/api/document/redo", () => { Document.Redo(); return Json(Document.ToJson()); });
        app.MapPost("/api/document/layout", () => { Document.Execute(new JsonObject { ["op"] = "layout" }); return Json(Document.ToJson()); });
        app.MapPost("/api/document/open", async Task<IResult> (HttpContext context) => { Document.Open(PathOf(await Body(context), required: true)!); return Json(Document.ToJson()); });
        app.MapPost("/api/document/save", async Task<IResult> (HttpContext context) => { Document.Save(PathOf(await Body(context), required: false)); return Json(Document.ToJson()); });
        app.MapPost("/api/document/export", async Task<IResult> (HttpContext context) =>
            Results.Json(new { path = Document.Export(PathOf(await Body(context), required: true)!) }));
        app.MapGet("/api/files", () => Results.Json(ListFiles()));
        app.MapGet("/api/layers", () => Json(Encoding.UTF8.GetBytes(LayerPalette.ToJson().ToJsonString())));
        app.MapGet("/api/templates", () => Results.Json(Templates.All.Select(t => new { id = t.Id, label = t.Label, kind = t.Kind, description = t.Description })));
        app.MapPost("/api/templates/preview", async Task<IResult> (HttpContext context) => Json(TemplatePreview.Describe(await Body(context))));
        app.MapPost("/api/training/start", async Task<IResult> (HttpContext context) =>
        {
            if (Live.IsAttached) throw new EditorConflictException("the inspector is attached to a game: detach before training");
            var request = TrainingRequest.Parse(await Body(context));
            if (Search.IsRunning) throw new EditorConflictException("an architecture search is running: stop it before training");
            return Results.Json(new { runId = Training.Start(request) });
        });
        app.MapPost("/api/training/stop", () => Results.Json(new { stopped = Training.Stop() }));
        app.MapGet("/api/training", () => Json(Training.StatusJson()));
        app.MapGet("/api/training/schema", () => Json(Encoding.UTF8.GetBytes(TrainingSession.Schema().ToJsonString())));
        app.MapGet("/api/training/form", () => Json(Training.FormJson()));
        app.MapPost("/api/search/start", async Task<IResult> (HttpContext context) => Results.Json(new { searchId = Search.Start(SearchRequest.Parse(await Body(context))) }));
        app.MapPost("/api/search/stop", () => Results.Json(new { stopped = Search.Stop() }));
        app.MapGet("/api/search", () => Json(Search.StatusJson()));
        app.MapPut("/api/training/form", async Task<IResult> (HttpContext context) => { Training.SetForm(await Body(context)); return Json(Training.FormJson()); });
        app.MapGet("/api/runs", () => Json(Encoding.UTF8.GetBytes(RunFiles.List(Folder).ToJsonString())));
        app.MapGet("/api/runs/file", (HttpContext context) =>
        {
            using var stream = RunFiles.Open(Folder, context.Request.Query["path"].ToString() is { Length: > 0 } path ? path : throw new DocumentCommandException("path: name a run file (?path=runs/….jsonl)", "path"));
            // the bytes the file holds now: streamed, a run still appending to it outgrew the Content-Length taken at the
            // start (the browser's ERR_CONTENT_LENGTH_MISMATCH); RunFiles.MaxBytes bounds the copy
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return Results.Bytes(bytes, "application/x-ndjson");
        });
        app.MapPost("/api/inspect/filters", async Task<IResult> (HttpContext context) => Json(await Inspector.FiltersAsync(await Body(context))));
        app.MapPost("/api/inspect/featureMaps", async Task<IResult> (HttpContext context) => Json(await Inspector.FeatureMapsAsync(await Body(context))));
        app.MapPost("/api/inspect/evaluate", async Task<IResult> (HttpContext context) => Json(await Inspector.EvaluateAsync(await Body(context))));
        app.MapGet("/api/inspect/images", (HttpContext context) => Json(Inspector.TestImages(context.Request.Query["indices"])));
        app.MapGet("/api/inspect/cell", (HttpContext context) => Json(Inspector.Cell(
            QueryInt(context, "label"), QueryInt(context, "predicted"), context.Request.Query.ContainsKey("limit") ? QueryInt(context, "limit") : 64)));
        app.MapGet("/api/live", () => Json(Live.StatusJson()));
        app.MapPost("/api/live/attach", async Task<IResult> (HttpContext context) =>
        {
            var body = await Body(context);
            string url = body["url"] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new DocumentCommandException("url: the game's live link URL with its token", "url");
            if (Training.IsRunning) throw new EditorConflictException("a training run is running: stop it before attaching to a game");
            await Live.AttachAsync(url);
            return Json(Live.StatusJson());
        });
        app.MapPost("/api/live/detach", () => Results.Json(new { detached = Live.Detach() }));
        app.MapPost("/api/live/request", async Task<IResult> (HttpContext context) => Json(await Live.RequestAsync(await Body(context))));
        app.MapPost("/api/diagnostics/memory", () => Results.Json(MemoryReport()));
        app.Map("/api/{**rest}", (HttpContext context) => ErrorResponse.Write(context, StatusCodes.Status404NotFound, $"no API route {context.Request.Method} {context.Request.Path}"));

        if (Directory.Exists(WebRoot))
        {
            var files = new PhysicalFileProvider(WebRoot);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }
        app.MapFallback((HttpContext context) =>
        {
            string index = Path.Combine(WebRoot, "index.html");
            return File.Exists(index) && HttpMethods.IsGet(context.Request.Method)
                ? Results.File(index, "text/html")
                : Results.Json(new { error = $"the editor UI is not built (no {index}); build Editor/Web" }, statusCode: StatusCodes.Status404NotFound);
        });
    }

    /// <summary>Turns the document's and the runtime's typed exceptions into the protocol's JSON errors: the client's
    /// mistakes (bad command, path, file content) 400, a missing file 404, a state conflict 409, a body over the limit
    /// 413, a file the server may not touch 403, and the server's own failures (disk full, a fault) 500.</summary>
    static async Task ReportErrors(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path.StartsWithSegments("/api") && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = MaxRequestBodyBytes;
        try
        {
            if (context.Request.ContentLength > MaxRequestBodyBytes) throw new RequestTooLargeException();
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            if (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }) e = new RequestTooLargeException();
            await ErrorResponse.Write(context, StatusOf(e), CliErrors.Describe(e), (e as DocumentCommandException)?.Field);
        }
    }

    /// <summary>The HTTP status of an exception (see <see cref="ReportErrors"/>).</summary>
    internal static int StatusOf(Exception e) => e switch
    {
        RequestTooLargeException => StatusCodes.Status413PayloadTooLarge,
        FileNotFoundException or DirectoryNotFoundException => StatusCodes.Status404NotFound,
        EditorConflictException => StatusCodes.Status409Conflict,
        UnauthorizedAccessException => StatusCodes.Status403Forbidden,
        ArgumentException or FormatException or Tensors.ShapeException or System.Text.Json.JsonException or BadHttpRequestException
            or Serialization.Onnx.OnnxException or Serialization.ModelFileException or InvalidDataException or Data.DatasetException
            => StatusCodes.Status400BadRequest,
        _ => StatusCodes.Status500InternalServerError, // IOException (disk full…), InvalidOperationException, ObjectDisposedException…
    };

    /// <summary><c>POST /api/diagnostics/memory</c>: a full, blocking, compacting collection that also gives free
    /// memory back to the system (<see cref="GCCollectionMode.Aggressive"/>), then what the process holds. Between
    /// two such reports a healthy server's figures move by a few MiB whatever it did meanwhile, unlike its resident set
    /// between collections, which follows the collector's budget (hundreds of MiB under heavy allocation): the leak
    /// check of long sessions. The collection pauses the server (tens of milliseconds on a few hundred MiB).</summary>
    static object MemoryReport()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true); // what the finalizers let go
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new
        {
            managedBytes = GC.GetTotalMemory(forceFullCollection: false),
            committedBytes = GC.GetGCMemoryInfo().TotalCommittedBytes,
            residentBytes = process.WorkingSet64,
            collections = GC.CollectionCount(2),
        };
    }

    static IResult Json(byte[] utf8) => Results.Bytes(utf8, "application/json");

    static int QueryInt(HttpContext context, string name) =>
        int.TryParse(context.Request.Query[name], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value)
            ? value : throw new DocumentCommandException($"{name} must be an integer", name);

    static async Task<JsonObject> Body(HttpContext context)
    {
        if (context.Request.ContentLength == 0) return [];
        var node = await JsonNode.ParseAsync(context.Request.Body, documentOptions: Serialization.StrictJson.Options); // a repeated key is a 400 naming it
        return node as JsonObject ?? (node is null ? [] : throw new DocumentCommandException("the request body must be a JSON object"));
    }

    static string? PathOf(JsonObject body, bool required) => body["path"] switch
    {
        null when !required => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new DocumentCommandException("'path' must be a path relative to the served folder"),
    };

    static IEnumerable<string> Strings(JsonObject o, string name) =>
        (o[name] as JsonArray ?? throw new DocumentCommandException($"'{name}' must be an array of ids"))
            .Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s : throw new DocumentCommandException($"'{name}' must be an array of ids"));

    /// <summary><c>.neuro</c> and <c>.onnx</c> files under the folder, by relative path; every symbolic link (file or
    /// folder, wherever it leads) is skipped, so the listing never leaves the folder nor loops.</summary>
    object[] ListFiles()
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint, MaxRecursionDepth = 16 };
        return Directory.EnumerateFiles(Folder.Root, "*", options)
            .Where(f => f.EndsWith(".neuro", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            .Select(f => Folder.Relative(f))
            .Order(StringComparer.Ordinal)
            .Select(p => (object)new { path = p, kind = p.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? "onnx" : "neuro" })
            .Take(10_000)
            .ToArray();
    }

    byte[] DocumentMessage() => Wrap("{\"type\":\"document\",\"document\":", Document.ToJson());

    byte[] TrainingMessage()
    {
        var status = JsonNode.Parse(Training.StatusJson())!.AsObject();
        status["type"] = "training";
        return Encoding.UTF8.GetBytes(status.ToJsonString());
    }

    static byte[] Wrap(string prefix, byte[] body)
    {
        var head = Encoding.UTF8.GetBytes(prefix);
        var message = new byte[head.Length + body.Length + 1];
        head.CopyTo(message, 0);
        body.CopyTo(message, head.Length);
        message[^1] = (byte)'}';
        return message;
    }

    /// <summary>Blocks until the server stops (Ctrl+C).</summary>
    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        Live.Dispose();
        Training.Stop();
        Search.Stop();
        Training.Wait(TimeSpan.FromSeconds(30));
        Search.Wait(TimeSpan.FromSeconds(30));
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>A request body over <see cref="EditorServer.MaxRequestBodyBytes"/>: HTTP 413.</summary>
internal sealed class RequestTooLargeException()
    : Exception($"the request body is larger than the server's limit of {EditorServer.MaxRequestBodyBytes >> 20} MiB");
