using System.Text.Json.Nodes;

namespace NeuroPlugin.Editor.Document;

/// <summary>A node of the document: a layer type with the user's attributes (the inferred ones are not stored), the
/// node feeding each input port (null when unconnected), a canvas position and the group it belongs to.</summary>
internal sealed class DocumentNode(string id, string type, JsonObject attributes)
{
    public string Id { get; set; } = id;
    public string Type { get; } = type;
    public JsonObject Attributes { get; set; } = attributes;
    public List<string?> Inputs { get; set; } = [];
    public double X { get; set; }
    public double Y { get; set; }
    public string? Group { get; set; }

    public DocumentNode Clone() => new(Id, Type, (JsonObject)Attributes.DeepClone())
    {
        Inputs = [.. Inputs], X = X, Y = Y, Group = Group,
    };
}

/// <summary>A collapsible set of nodes: an inserted template or one module of a zoo model.</summary>
internal sealed record DocumentGroup(string Id, string Label, string? Template, bool Collapsed);

/// <summary>An auxiliary classifier head of the network (GoogLeNet's aux1): its node and loss weight.</summary>
internal sealed record DocumentAuxiliaryOutput(string Node, float Weight);

/// <summary>
/// The graph being edited, as plain data: nodes in insertion order, groups, the output node and auxiliary heads.
/// It is what an undo step restores (<see cref="Clone"/>); everything derived from it (shapes, errors, counts, the
/// runtime graph) is computed by <see cref="DocumentAnalysis"/>.
/// </summary>
internal sealed class EditorDocument
{
    public List<DocumentNode> Nodes { get; init; } = [];
    public List<DocumentGroup> Groups { get; init; } = [];
    /// <summary>The node the network outputs; null means the last node in topological order.</summary>
    public string? Output { get; set; }
    public List<DocumentAuxiliaryOutput> AuxiliaryOutputs { get; init; } = [];

    public DocumentNode? Find(string id) => Nodes.Find(n => n.Id == id);

    public DocumentNode Get(string id) => Find(id) ?? throw new DocumentCommandException($"no node '{id}' in the document");

    public bool Contains(string id) => Nodes.Exists(n => n.Id == id);

    /// <summary>A deep copy (attributes included), for the undo stack.</summary>
    public EditorDocument Clone() => new()
    {
        Nodes = Nodes.ConvertAll(n => n.Clone()),
        Groups = [.. Groups],
        Output = Output,
        AuxiliaryOutputs = [.. AuxiliaryOutputs],
    };

    /// <summary>True when <paramref name="other"/> is the same network: the same nodes in the same order (id, type,
    /// attributes, inputs), output and auxiliary heads. Positions and groups, which change only how it is drawn, are not
    /// compared.</summary>
    public bool SameNetwork(EditorDocument other)
    {
        if (Output != other.Output || Nodes.Count != other.Nodes.Count || !AuxiliaryOutputs.SequenceEqual(other.AuxiliaryOutputs)) return false;
        for (int i = 0; i < Nodes.Count; i++)
        {
            DocumentNode a = Nodes[i], b = other.Nodes[i];
            if (a.Id != b.Id || a.Type != b.Type || !a.Inputs.SequenceEqual(b.Inputs) || !JsonNode.DeepEquals(a.Attributes, b.Attributes)) return false;
        }
        return true;
    }

    /// <summary>True when <paramref name="id"/> names a node or a group.</summary>
    public bool IsUsed(string id) => Contains(id) || Groups.Exists(g => g.Id == id);

    /// <summary>A new id from <paramref name="stem"/>: the stem itself if free, else <c>stem_2</c>, <c>stem_3</c>…</summary>
    public string FreshId(string stem, ISet<string>? alsoTaken = null) =>
        Fresh(stem, id => !IsUsed(id) && !(alsoTaken?.Contains(id) ?? false));

    /// <summary>A numbered id for a new node of a type: <c>stem_1</c>, <c>stem_2</c>… the first that is free.</summary>
    public string NumberedId(string stem)
    {
        for (int i = 1; ; i++)
            if (!IsUsed($"{stem}_{i}")) return $"{stem}_{i}";
    }

    /// <summary><paramref name="stem"/> if <paramref name="free"/> accepts it, else the first of <c>stem_2</c>, <c>stem_3</c>… it accepts.</summary>
    public static string Fresh(string stem, Func<string, bool> free)
    {
        if (free(stem)) return stem;
        for (int i = 2; ; i++)
            if (free($"{stem}_{i}")) return $"{stem}_{i}";
    }

    /// <summary>A rough size of the document in bytes (its JSON without the analysis), for the undo history's limit.</summary>
    public long EstimateBytes()
    {
        long bytes = 64;
        foreach (var node in Nodes)
        {
            bytes += 96 + 2L * (node.Id.Length + node.Type.Length + (node.Group?.Length ?? 0)) + node.Attributes.ToJsonString().Length;
            foreach (string? input in node.Inputs) bytes += 16 + 2L * (input?.Length ?? 0);
        }
        foreach (var group in Groups) bytes += 64 + 2L * (group.Id.Length + group.Label.Length);
        return bytes;
    }

    /// <summary>An empty network: one 1×28×28 image input (Fashion-MNIST's).</summary>
    public static EditorDocument CreateDefault()
    {
        var document = new EditorDocument();
        document.Nodes.Add(new DocumentNode("input", LayerPalette.InputType, LayerPalette.Defaults(LayerPalette.InputType)));
        return document;
    }
}

/// <summary>A command that cannot be applied (unknown node, duplicate id, a cycle, a malformed field): HTTP 400, the
/// document is unchanged. The message names the node or field; <see cref="Field"/> is the request field at fault, when
/// one is (the UI marks it).</summary>
internal sealed class DocumentCommandException(string message, string? field = null) : ArgumentException(message)
{
    public string? Field { get; } = field;
}

/// <summary>A request that conflicts with the server's state (nothing to undo or redo, a training run already going):
/// HTTP 409. Other <see cref="InvalidOperationException"/>s are server faults (500).</summary>
internal sealed class EditorConflictException(string message) : InvalidOperationException(message);
