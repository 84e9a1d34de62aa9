using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Serialization;

/// <summary>
/// JSON parsing for text from files and clients: a duplicated property name is a <see cref="JsonException"/> at parse
/// time. (With the default options <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/> accepts
/// duplicates and the resulting <see cref="JsonObject"/> throws an untyped <see cref="ArgumentException"/> the first
/// time it is read, far from the reader that could name the file.)
/// </summary>
public static class StrictJson
{
    /// <summary>Rejects duplicate property names; nesting is limited to 64 levels (the default).</summary>
    public static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false };

    /// <summary>Parses UTF-8 JSON text.</summary>
    /// <exception cref="JsonException">The text is not valid UTF-8 or JSON, or repeats a property name.</exception>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8) =>
        System.Text.Unicode.Utf8.IsValid(utf8) ? JsonNode.Parse(utf8, documentOptions: Options) : throw new JsonException("the text is not valid UTF-8");

    /// <summary>Parses JSON text.</summary>
    /// <exception cref="JsonException">The text is not valid JSON or repeats a property name.</exception>
    public static JsonNode? Parse(string json) => JsonNode.Parse(json, documentOptions: Options);
}
