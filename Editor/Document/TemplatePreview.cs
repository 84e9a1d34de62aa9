using System.Text.Json.Nodes;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Models;

namespace NeuroPlugin.Editor.Document;

/// <summary>
/// <c>POST /api/templates/preview</c>: what a model template would be for a dataset preset and the fields the user
/// typed, before it replaces the document: the resolved <see cref="TemplateOptions"/> (the image size the model needs
/// filled in when not given), whether a resize node goes in front, the smallest image size the model takes, and the
/// parameter and FLOP counts and output shape of the network, computed as <c>neuro inspect</c> does. A model that
/// cannot be built for the options is refused naming the field (400 with <c>"field"</c>).
/// </summary>
internal static class TemplatePreview
{
    public static byte[] Describe(JsonObject body)
    {
        string template = body["template"] is JsonValue t && t.TryGetValue(out string? id) ? id
            : throw new DocumentCommandException("'template' must be a model template id", "template");
        var info = Templates.All.FirstOrDefault(x => x.Id == template && x.Kind == "model")
            ?? throw new DocumentCommandException($"template: '{template}' is not a model template", "template");
        string? dataset = body["dataset"] switch
        {
            null => null,
            JsonValue d when d.TryGetValue(out string? name) => name,
            _ => throw new DocumentCommandException("'dataset' must be a dataset id", "dataset"),
        };
        var fields = body["options"] is null ? null
            : body["options"] as JsonObject ?? throw new DocumentCommandException("'options' must be an object", "options");
        var options = TemplateOptions.Resolve(template, dataset, fields, fitImageSize: true);
        var graph = options.Build(template);
        var rows = InspectCommand.Describe(graph);
        var output = graph.InferShapes(1)[graph.Output];
        var answer = new JsonObject
        {
            ["template"] = template,
            ["label"] = info.Label,
            ["dataset"] = dataset ?? TemplateOptions.Datasets[0].Id,
            ["datasets"] = new JsonArray([.. TemplateOptions.Datasets.Select(d =>
            {
                var (channels, size, classes) = d.Shape(template);
                return (JsonNode)new JsonObject { ["id"] = d.Id, ["label"] = d.Label, ["inputChannels"] = channels, ["imageSize"] = size, ["classes"] = classes };
            })]),
            ["options"] = options.ToJson(),
            ["resize"] = options.Resizes,
            ["smallestImageSize"] = ModelZoo.SmallestImageSize(template, options.Model with { ImageSize = 1 }),
            ["parameters"] = rows.Sum(r => r.Parameters),
            ["flops"] = 2 * rows.Sum(r => r.MultiplyAccumulates),
            ["outputShape"] = new JsonArray([.. output.ToArray().Select(d => (JsonNode)d)]),
        };
        return System.Text.Encoding.UTF8.GetBytes(answer.ToJsonString());
    }
}
