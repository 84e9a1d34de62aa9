namespace NeuroPlugin.Editor.Tests.TestSupport;

/// <summary>Builds protocol commands from JSON text and reads the document JSON back, as a client would.</summary>
internal static class Commands
{
    public static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    public static void Run(this DocumentSession session, string json) => session.Execute(Parse(json));

    /// <summary>The protocol's document JSON, parsed.</summary>
    public static JsonObject Json(this DocumentSession session) => JsonNode.Parse(session.ToJson())!.AsObject();

    /// <summary>Node <paramref name="id"/> of the document JSON.</summary>
    public static JsonObject Node(this JsonObject document, string id) =>
        document["nodes"]!.AsArray().Select(n => n!.AsObject()).Single(n => (string)n["id"]! == id);

    public static int[]? Shape(this JsonObject node) => node["outputShape"] is JsonArray a ? a.Select(d => (int)d!).ToArray() : null;

    /// <summary>The LeNet-like network the tests build by hand: input 1×28×28 → conv1 6×5×5 → relu1 → pool1 2×2 → flatten → fc 10.</summary>
    public static DocumentSession SmallNetwork(string folder)
    {
        var session = new DocumentSession(new NeuroPlugin.Editor.Server.FolderGuard(folder));
        session.Run("""{"op":"addNode","type":"Conv2d","id":"conv1","inputs":["input"],"attributes":{"outChannels":6,"kernelSize":[5,5],"padding":[0,0,0,0]}}""");
        session.Run("""{"op":"addNode","type":"ReLU","id":"relu1","inputs":["conv1"]}""");
        session.Run("""{"op":"addNode","type":"MaxPool2d","id":"pool1","inputs":["relu1"]}""");
        session.Run("""{"op":"addNode","type":"Flatten","id":"flatten","inputs":["pool1"]}""");
        session.Run("""{"op":"addNode","type":"Linear","id":"fc","inputs":["flatten"],"attributes":{"outFeatures":10}}""");
        return session;
    }
}
