using System.Text;
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
#if NET9_0_OR_GREATER
    /// <summary>Rejects duplicate property names; nesting is limited to 64 levels (the default).</summary>
    public static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false };

    /// <summary>Parses UTF-8 JSON text.</summary>
    /// <exception cref="JsonException">The text is not valid UTF-8 or JSON, or repeats a property name.</exception>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8) =>
        System.Text.Unicode.Utf8.IsValid(utf8) ? JsonNode.Parse(utf8, documentOptions: Options) : throw new JsonException("the text is not valid UTF-8");

    /// <summary>Parses JSON text.</summary>
    /// <exception cref="JsonException">The text is not valid JSON or repeats a property name.</exception>
    public static JsonNode? Parse(string json) => JsonNode.Parse(json, documentOptions: Options);
#else
    // System.Text.Json 8 has no AllowDuplicateProperties: one pass of the reader checks the names first.

    /// <summary>Parses UTF-8 JSON text.</summary>
    /// <exception cref="JsonException">The text is not valid UTF-8 or JSON, or repeats a property name.</exception>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8)) throw new JsonException("the text is not valid UTF-8");
        RejectDuplicateProperties(utf8);
        return JsonNode.Parse(utf8);
    }

    /// <summary>Parses JSON text.</summary>
    /// <exception cref="JsonException">The text is not valid JSON or repeats a property name.</exception>
    public static JsonNode? Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    /// <summary>Walks the text once with one set of names per open object; a name seen twice in one object throws.</summary>
    static void RejectDuplicateProperties(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 64 });
        var open = new Stack<HashSet<string>?>(); // null for an array
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject: open.Push(new HashSet<string>(StringComparer.Ordinal)); break;
                case JsonTokenType.StartArray: open.Push(null); break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray: open.Pop(); break;
                case JsonTokenType.PropertyName:
                    string name = reader.GetString()!;
                    if (!open.Peek()!.Add(name))
                        throw new JsonException($"Duplicate property '{name}' at byte {reader.TokenStartIndex}.");
                    break;
            }
        }
    }
#endif
}
