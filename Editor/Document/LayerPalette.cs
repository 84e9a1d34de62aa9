using System.Text.Json.Nodes;
using NeuroPlugin.Layers;

namespace NeuroPlugin.Editor.Document;

/// <summary>
/// The editor's palette: the <see cref="InputType"/> pseudo-layer, then every type of <see cref="LayerRegistry"/> in its
/// order, grouped, with the attribute schema the side panel shows. Everything about a layer type comes from its
/// <see cref="LayerDescriptor"/>; the inferred attributes (input channels and features, merge input counts) are not
/// edited: the document fills them from the connected inputs (<see cref="LayerDescriptor.Create(string, JsonObject, ReadOnlySpan{Tensors.TensorShape})"/>).
/// </summary>
internal static class LayerPalette
{
    /// <summary>The pseudo-type of graph inputs: attributes <c>channels</c>, <c>height</c>, <c>width</c> (an image) or
    /// <c>features</c> (a flat vector).</summary>
    public const string InputType = "Input";

    /// <summary>The names of the attributes some layer type infers from its inputs (never stored in a document).</summary>
    public static readonly IReadOnlySet<string> InferredAttributes = LayerRegistry.All
        .SelectMany(d => d.Attributes).Where(a => a.Inferred is not null).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>The layer type <paramref name="type"/>, or null for an unknown type (and for <see cref="InputType"/>).</summary>
    public static LayerDescriptor? Find(string type) => LayerRegistry.Find(type);

    /// <summary>True for a type the palette offers (a layer type or <see cref="InputType"/>).</summary>
    public static bool IsKnown(string type) => type == InputType || LayerRegistry.Find(type) is not null;

    /// <summary>The default attributes of <paramref name="type"/>, without the inferred ones (a fresh object).</summary>
    public static JsonObject Defaults(string type) => type == InputType
        ? new JsonObject { ["channels"] = 1, ["height"] = 28, ["width"] = 28 }
        : (LayerRegistry.Find(type) ?? throw new ArgumentException($"unknown layer type '{type}'")).Defaults();

    /// <summary>The palette as the <c>GET /api/layers</c> JSON (see Documentation~/EditorProtocol.md).</summary>
    public static JsonArray ToJson()
    {
        var list = new JsonArray
        {
            new JsonObject
            {
                ["type"] = InputType, ["group"] = "io", ["inputs"] = 0,
                ["attributes"] = new JsonArray(
                    Positive("channels", 1), Positive("height", 28), Positive("width", 28),
                    new JsonObject { ["name"] = "features", ["kind"] = "int", ["min"] = 1, ["optional"] = true }),
                ["description"] = "the network's input: an image (channels, height, width) or a vector of features",
            },
        };
        foreach (var descriptor in LayerRegistry.All)
        {
            var schema = new JsonArray();
            foreach (var attribute in descriptor.Attributes)
                // the unused one of an alternative pair has no default; its partner's "alternative" names it
                if (attribute.Default is not null || attribute.Inferred is not null)
                    schema.Add(Schema(attribute));
            list.Add(new JsonObject
            {
                ["type"] = descriptor.Type,
                ["group"] = descriptor.Group.ToString().ToLowerInvariant(),
                ["inputs"] = descriptor.Inputs,
                ["attributes"] = schema,
                ["description"] = descriptor.Description,
            });
        }
        return list;
    }

    static JsonObject Positive(string name, int @default) => new() { ["name"] = name, ["kind"] = "int", ["default"] = @default, ["min"] = 1 };

    /// <summary>One attribute's schema: kind (an initializer name is a <c>string</c>), <c>length</c> of a fixed-length array,
    /// then <c>inferred</c>, or the default, bounds, alternative and options.</summary>
    static JsonObject Schema(LayerAttribute attribute)
    {
        var schema = new JsonObject
        {
            ["name"] = attribute.Name,
            ["kind"] = attribute.Kind switch
            {
                AttributeKind.Initializer => "string",
                var kind => kind.ToString().ToLowerInvariant(),
            },
        };
        if (attribute.Length > 0) schema["length"] = attribute.Length;
        if (attribute.Inferred is not null)
        {
            schema["inferred"] = true;
            return schema;
        }
        schema["default"] = attribute.Default;
        if (attribute.Bounds is { } bounds)
        {
            if (bounds.Min is { } min) schema["min"] = min;
            if (bounds.Max is { } max) schema["max"] = max;
            if (bounds.MinExclusive) schema["minExclusive"] = true;
            if (bounds.MaxExclusive) schema["maxExclusive"] = true;
        }
        if (attribute.Alternative is { } alternative) schema["alternative"] = alternative;
        if (attribute.MinLength > 0) schema["minLength"] = attribute.MinLength;
        if (attribute.Options is { } options) schema["options"] = new JsonArray([.. options.Select(o => (JsonNode)o)]);
        return schema;
    }
}
