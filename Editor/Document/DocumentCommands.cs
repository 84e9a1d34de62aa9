using System.Text.Json.Nodes;
using NeuroPlugin.Models;

namespace NeuroPlugin.Editor.Document;

/// <summary>
/// The editing commands of <c>POST /api/document/commands</c> (Documentation~/EditorProtocol.md), applied to a copy
/// of the document: a command that cannot be applied throws <see cref="DocumentCommandException"/> naming the node or
/// field and the caller keeps the old document, so every command is all or nothing. A command may leave the network
/// invalid (shapes that do not fit); that shows as node errors, not as a refusal. Cycles are refused.
/// </summary>
internal static class DocumentCommands
{
    /// <summary>Applies <paramref name="command"/> (<c>{ "op": …, … }</c>) to <paramref name="document"/>; shapes of the
    /// document before the command come from <paramref name="before"/> (block templates need their anchor's shape).
    /// Returns true when the command replaced the whole document (<c>new</c>, a model template): it then belongs to no file.</summary>
    public static bool Apply(EditorDocument document, DocumentAnalysis before, JsonObject command)
    {
        string op = String(command, "op");
        bool replaced = false;
        switch (op)
        {
            case "new": Replace(document, EditorDocument.CreateDefault()); replaced = true; break;
            case "addNode": AddNode(document, command); break;
            case "removeNodes": RemoveNodes(document, Strings(command, "ids")); break;
            case "connect": Connect(document, String(command, "source"), String(command, "target"), OptionalInt(command, "targetPort")); break;
            case "disconnect": Disconnect(document, String(command, "source"), String(command, "target")); break;
            case "setAttributes": SetAttributes(document.Get(String(command, "id")), Object(command, "attributes")); break;
            case "moveNodes": MoveNodes(document, Object(command, "positions")); break;
            case "rename": Rename(document, String(command, "id"), String(command, "newId")); break;
            case "insertTemplate": replaced = InsertTemplate(document, before, command); break;
            case "setGroupCollapsed": SetGroupCollapsed(document, String(command, "group"), Bool(command, "collapsed")); break;
            case "ungroup": Ungroup(document, String(command, "group")); break;
            case "paste": Paste(document, Array(command, "nodes"), command["offset"] as JsonObject); break;
            case "setOutput":
                string output = String(command, "id");
                if (document.Get(output).Type == LayerPalette.InputType) throw new DocumentCommandException($"setOutput: '{output}' is an Input, not a layer");
                document.Output = output;
                break;
            case "layout": Layout.Apply(document); break;
            default: throw new DocumentCommandException($"unknown command op '{op}'");
        }
        var order = DocumentAnalysis.TopologicalOrder(document, out var cyclic);
        if (cyclic.Count > 0) throw new DocumentCommandException($"{op}: would make a cycle through {string.Join(", ", cyclic.Take(5).Select(n => n.Id))}");
        _ = order;
        return replaced;
    }

    /// <summary>The <c>copy</c> command's clipboard: the nodes as <c>paste</c> takes them (no change to the document).</summary>
    public static JsonObject Copy(EditorDocument document, IEnumerable<string> ids)
    {
        var nodes = new JsonArray();
        foreach (string id in ids)
        {
            var node = document.Get(id);
            nodes.Add(new JsonObject
            {
                ["id"] = node.Id, ["type"] = node.Type, ["attributes"] = node.Attributes.DeepClone(),
                ["inputs"] = new JsonArray(node.Inputs.Select(i => (JsonNode?)i).ToArray()),
                ["position"] = new JsonObject { ["x"] = node.X, ["y"] = node.Y },
            });
        }
        return new JsonObject { ["nodes"] = nodes };
    }

    static void Replace(EditorDocument document, EditorDocument with)
    {
        document.Nodes.Clear();
        document.Nodes.AddRange(with.Nodes);
        document.Groups.Clear();
        document.Groups.AddRange(with.Groups);
        document.AuxiliaryOutputs.Clear();
        document.AuxiliaryOutputs.AddRange(with.AuxiliaryOutputs);
        document.Output = with.Output;
    }

    static void AddNode(EditorDocument document, JsonObject command)
    {
        string type = String(command, "type");
        if (!LayerPalette.IsKnown(type)) throw new DocumentCommandException($"addNode: unknown layer type '{type}'");
        string id = command["id"] is null ? document.NumberedId(type.ToLowerInvariant()) : CheckId(String(command, "id"));
        if (document.Contains(id)) throw new DocumentCommandException($"addNode: the id '{id}' is already used");
        var node = new DocumentNode(id, type, LayerPalette.Defaults(type));
        if (command["attributes"] is JsonObject attributes) SetAttributes(node, attributes);
        if (command["inputs"] is JsonArray inputs)
            foreach (var input in inputs)
            {
                string? source = input is JsonValue v && v.TryGetValue(out string? s) ? s : null;
                if (source is not null && !document.Contains(source)) throw new DocumentCommandException($"addNode: input '{source}' of '{id}' is not a node");
                node.Inputs.Add(source);
            }
        if (command["position"] is JsonObject position) (node.X, node.Y) = Position(position, id);
        if (type == LayerPalette.InputType && node.Inputs.Count > 0) throw new DocumentCommandException($"addNode: '{id}' is an Input and takes no inputs");
        int placements = (command["after"] is null ? 0 : 1) + (command["insertInto"] is null ? 0 : 1) + (command["inputs"] is null ? 0 : 1);
        if (placements > 1) throw new DocumentCommandException("addNode: give one of 'inputs', 'after' and 'insertInto'");
        if (placements == 1 && type == LayerPalette.InputType) throw new DocumentCommandException($"addNode: '{id}' is an Input and takes no inputs");
        if (command["after"] is not null) InsertAfter(document, node, String(command, "after"), command["position"] is null);
        else if (command["insertInto"] is not null) InsertInto(document, node, Object(command, "insertInto"), command["position"] is null);
        else document.Nodes.Add(node);
    }

    /// <summary>Adds <paramref name="node"/> reading <paramref name="after"/>; the nodes that read <paramref name="after"/>
    /// read the new node instead (a layer appended to a chain goes into it), and it joins their group when they all share
    /// the anchor's. Placed one row below its input, with the nodes downstream moved down to make room, unless the
    /// command gave a position.</summary>
    static void InsertAfter(EditorDocument document, DocumentNode node, string after, bool place)
    {
        var anchor = document.Get(after);
        var readers = document.Nodes.Where(n => n.Inputs.Contains(after)).ToList();
        foreach (var reader in readers)
            for (int i = 0; i < reader.Inputs.Count; i++)
                if (reader.Inputs[i] == after) reader.Inputs[i] = node.Id;
        if (document.Output == after) document.Output = null; // the new last layer is the output, as by default
        node.Inputs.Add(after);
        if (readers.Count > 0 && readers.All(r => r.Group == anchor.Group)) node.Group = anchor.Group;
        document.Nodes.Insert(document.Nodes.IndexOf(anchor) + 1, node);
        if (!place) return;
        (node.X, node.Y) = (anchor.X, anchor.Y + Layout.RowHeight);
        Layout.MakeRoom(document, readers, node.Y, [node]);
    }

    /// <summary>Adds <paramref name="node"/> on the edge <c>{ source, target, targetPort }</c>: it reads the source, and
    /// that port of the target reads it; inside a group when both ends are. Placed one row below the source, in the
    /// target's column, with the target and everything downstream moved down to make room, unless the command gave a
    /// position.</summary>
    static void InsertInto(EditorDocument document, DocumentNode node, JsonObject edge, bool place)
    {
        string source = String(edge, "source"), target = String(edge, "target");
        int port = OptionalInt(edge, "targetPort") ?? 0;
        var from = document.Get(source);
        var to = document.Get(target);
        if (port < 0 || port >= to.Inputs.Count || to.Inputs[port] != source)
            throw new DocumentCommandException($"addNode: there is no edge from '{source}' into port {port} of '{target}'");
        to.Inputs[port] = node.Id;
        node.Inputs.Add(source);
        if (from.Group == to.Group) node.Group = to.Group;
        document.Nodes.Insert(document.Nodes.IndexOf(to), node);
        if (!place) return;
        (node.X, node.Y) = (to.X, from.Y + Layout.RowHeight);
        Layout.MakeRoom(document, [to], node.Y, [node]);
    }

    static void RemoveNodes(EditorDocument document, IReadOnlyList<string> ids)
    {
        var removed = new HashSet<string>(ids, StringComparer.Ordinal);
        foreach (string id in ids) document.Get(id);
        document.Nodes.RemoveAll(n => removed.Contains(n.Id));
        foreach (var node in document.Nodes)
        {
            bool variadic = LayerPalette.Find(node.Type)?.Inputs == -1;
            if (variadic) node.Inputs.RemoveAll(i => i is not null && removed.Contains(i));
            else for (int i = 0; i < node.Inputs.Count; i++) if (node.Inputs[i] is string s && removed.Contains(s)) node.Inputs[i] = null;
        }
        if (document.Output is string output && removed.Contains(output)) document.Output = null;
        document.AuxiliaryOutputs.RemoveAll(a => removed.Contains(a.Node));
        DropEmptyGroups(document);
    }

    static void Connect(EditorDocument document, string source, string target, int? port)
    {
        document.Get(source);
        var node = document.Get(target);
        if (node.Type == LayerPalette.InputType) throw new DocumentCommandException($"connect: '{target}' is an Input and takes no inputs");
        if (source == target) throw new DocumentCommandException($"connect: '{target}' cannot read itself");
        int ports = LayerPalette.Find(node.Type)!.Inputs;
        if (port is < 0) throw new DocumentCommandException($"connect: 'targetPort' must be 0 or more, got {port}");
        if (ports == -1)
        {
            if (port is int p && p < node.Inputs.Count) node.Inputs[p] = source;
            else node.Inputs.Add(source);
            return;
        }
        while (node.Inputs.Count < ports) node.Inputs.Add(null);
        int slot = port ?? node.Inputs.IndexOf(null);
        if (slot < 0)
            throw new DocumentCommandException($"connect: every input port of {node.Type} '{target}' is connected; give 'targetPort' (0..{ports - 1}) to replace one");
        if (slot >= ports) throw new DocumentCommandException($"connect: {node.Type} '{target}' has ports 0..{ports - 1}, got 'targetPort' {slot}");
        node.Inputs[slot] = source;
    }

    static void Disconnect(EditorDocument document, string source, string target)
    {
        var node = document.Get(target);
        if (!node.Inputs.Contains(source)) throw new DocumentCommandException($"disconnect: '{target}' does not read '{source}'");
        if (LayerPalette.Find(node.Type)?.Inputs == -1) node.Inputs.RemoveAll(i => i == source);
        else for (int i = 0; i < node.Inputs.Count; i++) if (node.Inputs[i] == source) node.Inputs[i] = null;
    }

    /// <summary>Merges attributes; a null value removes one (it takes its default again); inferred ones are ignored.</summary>
    static void SetAttributes(DocumentNode node, JsonObject attributes)
    {
        foreach (var (name, value) in attributes)
        {
            if (LayerPalette.InferredAttributes.Contains(name)) continue;
            if (value is null) node.Attributes.Remove(name); // the analysis uses the palette's default for a missing attribute
            else node.Attributes[name] = value.DeepClone();
        }
        if (node.Type == LayerPalette.InputType && attributes.ContainsKey("features") && attributes["features"] is not null)
            foreach (string name in new[] { "channels", "height", "width" }) node.Attributes.Remove(name);
    }

    static void MoveNodes(EditorDocument document, JsonObject positions)
    {
        foreach (var (id, value) in positions)
        {
            var node = document.Get(id);
            (node.X, node.Y) = Position(value as JsonObject ?? throw new DocumentCommandException($"moveNodes: position of '{id}' must be {{x, y}}"), id);
        }
    }

    static void Rename(EditorDocument document, string id, string newId)
    {
        var node = document.Get(id);
        CheckId(newId);
        if (newId == id) return;
        if (document.Contains(newId)) throw new DocumentCommandException($"rename: the id '{newId}' is already used");
        node.Id = newId;
        foreach (var other in document.Nodes)
            for (int i = 0; i < other.Inputs.Count; i++) if (other.Inputs[i] == id) other.Inputs[i] = newId;
        if (document.Output == id) document.Output = newId;
        for (int i = 0; i < document.AuxiliaryOutputs.Count; i++)
            if (document.AuxiliaryOutputs[i].Node == id) document.AuxiliaryOutputs[i] = document.AuxiliaryOutputs[i] with { Node = newId };
    }

    /// <summary>Inserts a block (after <c>after</c>, at <c>position</c> when given) or replaces the document with a model
    /// (returns true).</summary>
    static bool InsertTemplate(EditorDocument document, DocumentAnalysis before, JsonObject command)
    {
        string template = String(command, "template");
        var info = Templates.All.FirstOrDefault(t => t.Id == template) ?? throw new DocumentCommandException($"insertTemplate: unknown template '{template}'");
        try
        {
            if (info.Kind == "model")
            {
                var fields = command["options"] is null ? null
                    : command["options"] as JsonObject ?? throw new DocumentCommandException("insertTemplate: 'options' must be an object", "options");
                Replace(document, Templates.Model(template, TemplateOptions.Resolve(template, null, fields)));
                return true;
            }
            string after = command["after"] is null
                ? throw new DocumentCommandException($"insertTemplate: block '{template}' needs 'after', the node whose output it reads")
                : String(command, "after");
            document.Get(after);
            var shape = before[after].OutputShape ?? throw new DocumentCommandException($"insertTemplate: '{after}' has no shape yet ({before[after].Error ?? "not analysed"})");
            (double X, double Y)? at = command["position"] is null ? null
                : Position(command["position"] as JsonObject ?? throw new DocumentCommandException("insertTemplate: 'position' must be {x, y}"), template);
            Templates.InsertBlock(document, template, after, shape, at);
            return false;
        }
        catch (Exception e) when (e is ArgumentException or Tensors.ShapeException && e is not DocumentCommandException)
        {
            throw new DocumentCommandException($"insertTemplate {template}: {e.Message}");
        }
    }

    static void SetGroupCollapsed(EditorDocument document, string group, bool collapsed)
    {
        int index = document.Groups.FindIndex(g => g.Id == group);
        if (index < 0) throw new DocumentCommandException($"no group '{group}' in the document");
        document.Groups[index] = document.Groups[index] with { Collapsed = collapsed };
    }

    static void Ungroup(EditorDocument document, string group)
    {
        if (document.Groups.RemoveAll(g => g.Id == group) == 0) throw new DocumentCommandException($"no group '{group}' in the document");
        foreach (var node in document.Nodes) if (node.Group == group) node.Group = null;
    }

    /// <summary>Adds copies of <paramref name="nodes"/>: ids already used get fresh ones, inputs among the pasted nodes
    /// follow the new ids, inputs to other existing nodes stay, unknown ones become unconnected ports.</summary>
    static void Paste(EditorDocument document, JsonArray nodes, JsonObject? offset)
    {
        double dx = offset is null ? 40 : Number(offset, "x"), dy = offset is null ? 40 : Number(offset, "y");
        var items = nodes.Select((n, i) => n as JsonObject ?? throw new DocumentCommandException($"paste: nodes[{i}] is not an object")).ToList();
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            string id = CheckId(String(item, "id"));
            if (rename.ContainsKey(id)) throw new DocumentCommandException($"paste: the id '{id}' appears twice");
            rename[id] = document.FreshId(id, taken);
            taken.Add(rename[id]);
        }
        foreach (var item in items)
        {
            string type = String(item, "type");
            if (!LayerPalette.IsKnown(type)) throw new DocumentCommandException($"paste: unknown layer type '{type}'");
            string id = rename[String(item, "id")];
            var node = new DocumentNode(id, type, LayerPalette.Defaults(type));
            if (item["attributes"] is JsonObject attributes) SetAttributes(node, attributes);
            if (type == LayerPalette.InputType && item["inputs"] is JsonArray { Count: > 0 })
                throw new DocumentCommandException($"paste: '{String(item, "id")}' is an Input and takes no inputs");
            if (item["inputs"] is JsonArray inputs)
                foreach (var input in inputs)
                {
                    string? source = input is JsonValue v && v.TryGetValue(out string? s) ? s : null;
                    node.Inputs.Add(source is null ? null : rename.TryGetValue(source, out var renamed) ? renamed : document.Contains(source) ? source : null);
                }
            if (item["position"] is JsonObject position)
            {
                var (x, y) = Position(position, id);
                (node.X, node.Y) = (x + dx, y + dy);
            }
            document.Nodes.Add(node);
        }
    }

    static void DropEmptyGroups(EditorDocument document) =>
        document.Groups.RemoveAll(g => !document.Nodes.Exists(n => n.Group == g.Id));

    static string CheckId(string id)
    {
        if (id.Length is 0 or > 200 || id.Any(char.IsControl) || id.Trim() != id)
            throw new DocumentCommandException($"invalid node id '{id}': 1 to 200 printable characters without surrounding spaces");
        return id;
    }

    static (double X, double Y) Position(JsonObject position, string id)
    {
        try
        {
            return (Number(position, "x"), Number(position, "y"));
        }
        catch (DocumentCommandException e)
        {
            throw new DocumentCommandException($"position of '{id}': {e.Message}");
        }
    }

    static string String(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new DocumentCommandException($"'{name}' must be a string");

    static bool Bool(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out bool b) ? b : throw new DocumentCommandException($"'{name}' must be true or false");

    static int Int(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out int i) ? i : throw new DocumentCommandException($"'{name}' must be an integer");

    static int? OptionalInt(JsonObject o, string name) => o[name] is null ? null : Int(o, name);

    static double Number(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d : throw new DocumentCommandException($"'{name}' must be a number");

    static JsonObject Object(JsonObject o, string name) => o[name] as JsonObject ?? throw new DocumentCommandException($"'{name}' must be an object");

    static JsonArray Array(JsonObject o, string name) => o[name] as JsonArray ?? throw new DocumentCommandException($"'{name}' must be an array");

    static IReadOnlyList<string> Strings(JsonObject o, string name) =>
        Array(o, name).Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s : throw new DocumentCommandException($"'{name}' must be an array of ids")).ToList();
}
