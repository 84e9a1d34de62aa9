using System.Text.Json;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Document;

/// <summary>Writes the document in the protocol's JSON (Documentation~/EditorProtocol.md, "Document") with one
/// <see cref="Utf8JsonWriter"/> pass, so a DenseNet-121 (hundreds of nodes) serializes in milliseconds.</summary>
internal static class DocumentJson
{
    public static byte[] Write(EditorDocument document, DocumentAnalysis analysis, long revision, string name, string? path,
        bool dirty, bool canUndo, bool canRedo, long file = 0)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("revision", revision);
            w.WriteString("name", name);
            w.WriteString("path", path);
            w.WriteNumber("file", file);
            w.WriteBoolean("dirty", dirty);
            w.WriteBoolean("canUndo", canUndo);
            w.WriteBoolean("canRedo", canRedo);

            w.WriteStartArray("nodes");
            foreach (var node in document.Nodes)
            {
                var result = analysis[node.Id];
                w.WriteStartObject();
                w.WriteString("id", node.Id);
                w.WriteString("type", node.Type);
                w.WritePropertyName("attributes");
                node.Attributes.WriteTo(w);
                WriteStrings(w, "inputs", node.Inputs);
                w.WriteStartObject("position");
                w.WriteNumber("x", node.X);
                w.WriteNumber("y", node.Y);
                w.WriteEndObject();
                w.WriteString("group", node.Group);
                WriteShape(w, "outputShape", result.OutputShape);
                w.WriteString("error", result.Error);
                w.WritePropertyName("fix");
                if (result.Fix is null) w.WriteNullValue();
                else result.Fix.WriteTo(w);
                w.WriteNumber("parameters", result.Parameters);
                w.WriteNumber("flops", result.Flops);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            var members = document.Nodes.Where(n => n.Group is not null).ToLookup(n => n.Group!, StringComparer.Ordinal);
            w.WriteStartArray("groups");
            foreach (var group in document.Groups)
            {
                w.WriteStartObject();
                w.WriteString("id", group.Id);
                w.WriteString("label", group.Label);
                w.WriteString("template", group.Template);
                w.WriteBoolean("collapsed", group.Collapsed);
                WriteStrings(w, "nodes", members[group.Id].Select(n => n.Id));
                w.WriteEndObject();
            }
            w.WriteEndArray();

            var ids = new HashSet<string>(document.Nodes.Select(n => n.Id), StringComparer.Ordinal);
            w.WriteStartArray("edges");
            foreach (var node in document.Nodes)
                for (int port = 0; port < node.Inputs.Count; port++)
                {
                    if (node.Inputs[port] is not string source || !ids.Contains(source)) continue;
                    w.WriteStartObject();
                    w.WriteString("id", $"{source}->{node.Id}:{port}");
                    w.WriteString("source", source);
                    w.WriteString("target", node.Id);
                    w.WriteNumber("targetPort", port);
                    WriteShape(w, "shape", analysis[source].OutputShape);
                    w.WriteEndObject();
                }
            w.WriteEndArray();

            w.WriteString("output", analysis.Output);
            w.WriteStartArray("auxiliaryOutputs");
            foreach (var aux in document.AuxiliaryOutputs)
            {
                w.WriteStartObject();
                w.WriteString("node", aux.Node);
                w.WriteNumber("weight", aux.Weight);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("totals");
            w.WriteNumber("parameters", analysis.TotalParameters);
            w.WriteNumber("flops", analysis.TotalFlops);
            w.WriteEndObject();
            w.WriteBoolean("valid", analysis.IsValid);
            w.WriteStartArray("errors");
            foreach (var (node, message) in analysis.Errors)
            {
                w.WriteStartObject();
                w.WriteString("node", node.Length == 0 ? null : node);
                w.WriteString("message", message);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    static void WriteStrings(Utf8JsonWriter w, string property, IEnumerable<string?> values)
    {
        w.WriteStartArray(property);
        foreach (string? value in values) w.WriteStringValue(value);
        w.WriteEndArray();
    }

    static void WriteShape(Utf8JsonWriter w, string property, TensorShape? shape)
    {
        if (shape is not TensorShape s)
        {
            w.WriteNull(property);
            return;
        }
        w.WriteStartArray(property);
        for (int i = 0; i < s.Rank; i++) w.WriteNumberValue(s[i]);
        w.WriteEndArray();
    }
}
