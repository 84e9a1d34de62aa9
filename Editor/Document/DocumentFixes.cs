using System.Text.Json.Nodes;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Document;

/// <summary>
/// One-click repairs of node errors whose cure is not in doubt, offered with the error in the document
/// (<c>"fix": { "label", "command" }</c>): the command is an ordinary one, so applying it is one undo step and the
/// server checks it like any other.
/// </summary>
internal static class DocumentFixes
{
    /// <summary>The repair of <paramref name="node"/>'s error given the shapes it was fed, or null when there is none.
    /// A <c>Linear</c> fed a feature map (N,C,H,W) (after a global pool: (N,C,1,1)) gets a <c>Flatten</c> inserted on
    /// the edge into it.</summary>
    public static JsonObject? For(DocumentNode node, TensorShape[] inputShapes)
    {
        if (node.Type == "Linear" && inputShapes.Length == 1 && inputShapes[0].Rank > 2 && node.Inputs[0] is string source)
            return Fix($"Insert a Flatten before {node.Id}", new JsonObject
            {
                ["op"] = "addNode", ["type"] = "Flatten",
                ["insertInto"] = new JsonObject { ["source"] = source, ["target"] = node.Id, ["targetPort"] = 0 },
            });
        return null;
    }

    static JsonObject Fix(string label, JsonObject command) => new() { ["label"] = label, ["command"] = command };
}
