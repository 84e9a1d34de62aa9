using System.Reflection;
using Google.Protobuf;
using System.Text.Json.Nodes;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Layers;

/// <summary>
/// Every <see cref="LayerDescriptor"/> of <see cref="LayerRegistry"/>, from the registry alone (no list of types here):
/// the layer built from the defaults and a sample input (the editor's path), its attributes written and read back, every
/// attribute's errors and bounds against the layer's own validation, its palette entry, and its ONNX mapping against the
/// exporter and the importer.
/// </summary>
public sealed class LayerRegistryTests
{
    public static IEnumerable<TestCaseData> Descriptors() =>
        LayerRegistry.All.Select(d => new TestCaseData(d).SetArgDisplayNames(d.Type));

    /// <summary>The descriptor's example inputs (or <paramref name="items"/>) with a batch axis.</summary>
    static TensorShape[] Inputs(LayerDescriptor descriptor, int batch, IReadOnlyList<TensorShape>? items = null) =>
        [.. (items ?? descriptor.ExampleInputs).Select(s => s.PrependBatch(batch))];

    static Layer FromDefaults(LayerDescriptor descriptor, JsonObject? replaced = null, IReadOnlyList<TensorShape>? items = null, int batch = 2)
    {
        var attributes = descriptor.Defaults();
        foreach (var (name, value) in replaced ?? [])
        {
            attributes[name] = value?.DeepClone();
            if (descriptor.Attribute(name)?.Alternative is { } other) attributes.Remove(other);
        }
        return descriptor.Create("node", attributes, Inputs(descriptor, batch, items));
    }

    [TestCaseSource(nameof(Descriptors))]
    public void BuildsFromItsDefaults_AndItsAttributesRoundTrip(LayerDescriptor descriptor)
    {
        var inputs = Inputs(descriptor, 2);
        var layer = FromDefaults(descriptor);
        Assert.That(layer.Descriptor, Is.SameAs(descriptor));
        Assert.That(layer.Type, Is.EqualTo(descriptor.Type));
        Assert.That(layer.InputCount, Is.EqualTo(inputs.Length));
        Assert.That(descriptor.Inputs, Is.EqualTo(LayerDescriptor.AnyInputCount).Or.EqualTo(inputs.Length), "a fixed arity matches the example inputs");
        Assert.That(layer.InferOutputShape("node", inputs).N, Is.EqualTo(2));

        var attributes = layer.Attributes();
        Assert.That(attributes.Select(a => a.Key), Is.EqualTo(descriptor.Attributes.Select(a => a.Name).Where(attributes.ContainsKey)),
            "written in the descriptor's order");
        foreach (var attribute in descriptor.Attributes)
        {
            if (attribute.Default is { } value)
                Assert.That(attributes[attribute.Name]?.ToJsonString(), Is.EqualTo(value.ToJsonString()), $"{attribute.Name}: the default comes back");
            if (attribute.Inferred is { } source)
                Assert.That((int)attributes[attribute.Name]!, Is.EqualTo(source switch
                {
                    InferredFrom.InputChannels => inputs[0][1],
                    InferredFrom.InputFeatures => inputs[0].ItemLength,
                    _ => inputs.Length,
                }), $"{attribute.Name} is inferred from the inputs");
        }

        // as written by Attributes() and as read from a file's text
        Assert.That(descriptor.Create(attributes).Attributes().ToJsonString(), Is.EqualTo(attributes.ToJsonString()));
        var parsed = JsonNode.Parse(attributes.ToJsonString())!.AsObject();
        Assert.That(LayerRegistry.Create(descriptor.Type, parsed).Attributes().ToJsonString(), Is.EqualTo(attributes.ToJsonString()));
    }

    [TestCaseSource(nameof(Descriptors))]
    public void EachAttributeIsRequiredAndChecked_ByName(LayerDescriptor descriptor)
    {
        var attributes = FromDefaults(descriptor).Attributes();
        foreach (var attribute in descriptor.Attributes.Where(a => a.IsGiven(attributes)))
        {
            var missing = (JsonObject)attributes.DeepClone();
            missing.Remove(attribute.Name);
            if (attribute.Optional)
                Assert.That(descriptor.Create(missing).Attributes().ToJsonString(), Is.EqualTo(attributes.ToJsonString()), $"{attribute.Name} absent means its default");
            else
                Assert.That(() => descriptor.Create(missing), Throws.TypeOf<FormatException>().With.Message.Contains($"'{attribute.Name}'"), $"{attribute.Name} missing");

            var wrong = (JsonObject)attributes.DeepClone();
            wrong[attribute.Name] = "wrong"; // a string: of no kind but String and Initializer, and neither an option nor an initializer
            Assert.That(() => descriptor.Create(wrong), Throws.TypeOf<FormatException>().With.Message.Contains($"'{attribute.Name}'"), $"{attribute.Name} of the wrong kind");
        }
        foreach (var attribute in descriptor.Attributes.Where(a => a.Alternative is not null))
        {
            var both = (JsonObject)attributes.DeepClone();
            both[attribute.Name] ??= 1;
            both[attribute.Alternative!] ??= 1;
            Assert.That(() => descriptor.Create(both), Throws.TypeOf<FormatException>()
                .With.Message.Contains($"'{attribute.Name}'").And.Message.Contains($"'{attribute.Alternative}'"), "both of an alternative pair");
        }
    }

    /// <summary>A value just outside each declared bound is refused by the layer: the editor's bounds never block a value
    /// the runtime takes.</summary>
    [TestCaseSource(nameof(Descriptors))]
    public void ValuesOutsideTheBoundsAreRefused(LayerDescriptor descriptor)
    {
        foreach (var attribute in descriptor.Attributes.Where(a => a.Bounds is not null && a.Inferred is null))
        {
            var bounds = attribute.Bounds!.Value;
            bool integral = attribute.Kind is AttributeKind.Int or AttributeKind.Ints;
            double step = integral ? 1 : 0.5;
            var outside = new List<double>();
            if (bounds.Min is { } min) outside.Add(bounds.MinExclusive ? min : min - step);
            if (bounds.Max is { } max) outside.Add(bounds.MaxExclusive ? max : max + step);
            foreach (double value in outside)
            {
                JsonNode scalar = integral ? (int)value : (float)value;
                int length = attribute.Length > 0 ? attribute.Length : Math.Max(attribute.MinLength, 1);
                JsonNode node = attribute.Kind is AttributeKind.Ints or AttributeKind.Floats
                    ? new JsonArray([.. Enumerable.Range(0, length).Select(_ => scalar.DeepClone())])
                    : scalar;
                Assert.That(() => FromDefaults(descriptor, new JsonObject { [attribute.Name] = node }),
                    Throws.InstanceOf<FormatException>().Or.InstanceOf<ArgumentException>().Or.InstanceOf<ShapeException>(),
                    $"{attribute.Name} = {node.ToJsonString()} is outside {bounds}");
            }
        }
    }

    [TestCaseSource(nameof(Descriptors))]
    public void PaletteEntry_IsTheDescriptors(LayerDescriptor descriptor)
    {
        var entry = LayerPalette.ToJson().Single(e => (string)e!["type"]! == descriptor.Type)!.AsObject();
        Assert.That((string)entry["group"]!, Is.EqualTo(descriptor.Group.ToString().ToLowerInvariant()));
        Assert.That((int)entry["inputs"]!, Is.EqualTo(descriptor.Inputs));
        Assert.That((string)entry["description"]!, Is.EqualTo(descriptor.Description).And.Not.Empty);
        Assert.That(LayerPalette.Find(descriptor.Type), Is.SameAs(descriptor));

        var schema = entry["attributes"]!.AsArray().Select(a => a!.AsObject()).ToList();
        var shown = descriptor.Attributes.Where(a => a.Default is not null || a.Inferred is not null).ToList();
        Assert.That(schema.Select(a => (string)a["name"]!), Is.EqualTo(shown.Select(a => a.Name)));
        Assert.That(descriptor.Attributes.Except(shown).All(a => a.Alternative is not null), "only the unused one of an alternative pair is left out");
        var defaults = new JsonObject();
        foreach (var (attribute, field) in shown.Zip(schema))
        {
            Assert.That((string)field["kind"]!, Is.EqualTo(attribute.Kind == AttributeKind.Initializer ? "string" : attribute.Kind.ToString().ToLowerInvariant()));
            Assert.That((bool?)field["inferred"] ?? false, Is.EqualTo(attribute.Inferred is not null), attribute.Name);
            Assert.That((int?)field["length"], Is.EqualTo(attribute.Length > 0 ? attribute.Length : null), attribute.Name);
            if (attribute.Inferred is not null) continue;
            Assert.That(field["default"]!.ToJsonString(), Is.EqualTo(attribute.Default!.ToJsonString()), attribute.Name);
            Assert.That((double?)field["min"], Is.EqualTo(attribute.Bounds?.Min), attribute.Name);
            Assert.That((double?)field["max"], Is.EqualTo(attribute.Bounds?.Max), attribute.Name);
            defaults[attribute.Name] = field["default"]!.DeepClone();
        }
        Assert.That(LayerPalette.Defaults(descriptor.Type).ToJsonString(), Is.EqualTo(defaults.ToJsonString()));

        // a new node with the schema's defaults analyses to the layer built from the descriptor
        var node = new DocumentNode("node", descriptor.Type, defaults);
        Assert.That(DocumentAnalysis.CreateLayer(node, Inputs(descriptor, 1)).Attributes().ToJsonString(),
            Is.EqualTo(FromDefaults(descriptor, batch: 1).Attributes().ToJsonString()));
    }

    /// <summary>Each export form, as a one-node network, has exactly the op types the descriptor names; where the layer is
    /// imported, the file reads back as one node of the same type (or the type the form names), and that type's import list
    /// names the op the form ends with. A layer whose output is a view of its input (Flatten) is a node of the imported graph
    /// only where another node reads it, so its round trip has a ReLU after it.</summary>
    [TestCaseSource(nameof(Descriptors))]
    public void OnnxMapping_IsWhatTheExporterAndImporterDo(LayerDescriptor descriptor)
    {
        Assert.That(descriptor.Onnx.Export, Is.Not.Empty, "every layer type exports");
        using var cpu = new CpuBackend();
        foreach (var form in descriptor.Onnx.Export)
        {
            var items = form.Inputs ?? descriptor.ExampleInputs;
            var layer = FromDefaults(descriptor, form.Attributes, items, batch: 1);
            ModelProto Export(bool consumer)
            {
                var graph = new NetworkGraph();
                string[] inputs = [.. items.Select((shape, i) => graph.AddInput($"x{i}", shape))];
                graph.Add("layer", layer, inputs);
                if (consumer) graph.Add("consumer", Activation.ReLU(), "layer");
                using var network = Network.Create(graph, cpu, seed: 1);
                return OnnxExporter.ToModel(network);
            }
            var model = Export(consumer: false);
            Assert.That(model.Graph!.Node.Select(n => n.OpType).Distinct(), Is.EquivalentTo(form.Ops), $"exported ops of {form}");

            if (descriptor.Onnx.Import.Count == 0) continue;
            var expected = LayerRegistry.Get(form.ImportsAs ?? descriptor.Type);
            string[] types = layer.OutputIsViewOfInput ? [expected.Type, "ReLU"] : [expected.Type];
            var bytes = Export(consumer: layer.OutputIsViewOfInput).ToByteArray();
            var imported = OnnxImporter.Convert(OnnxImporter.Parse(bytes, "layer.onnx"), null, "layer.onnx").Graph;
            Assert.That(imported.Nodes.Select(n => n.Layer.Type), Is.EquivalentTo(types), $"{form} imported back"); // a view may come after the ReLU
            string lastOp = model.Graph.Node.Single(n => n.Output.Contains("layer")).OpType;
            Assert.That(expected.Onnx.Import, Does.Contain(lastOp), $"{expected.Type}'s import list names the op that {form} ends with");
        }
    }

    /// <summary>Each layer class declares its descriptor(s) as <c>Definition</c> (or <c>Definitions</c>), and all of them are
    /// registered: a layer cannot be missing from files, the palette or ONNX tables.</summary>
    [Test]
    public void EveryLayerClassIsRegistered()
    {
        var declared = new List<LayerDescriptor>();
        foreach (var type in typeof(Layer).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Layer)) && !t.IsAbstract))
        {
            const BindingFlags flags = BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly;
            object? value = type.GetProperty("Definition", flags)?.GetValue(null) ?? type.GetProperty("Definitions", flags)?.GetValue(null);
            Assert.That(value, Is.Not.Null, $"{type.Name} declares no Definition");
            declared.AddRange(value as IEnumerable<LayerDescriptor> ?? [(LayerDescriptor)value!]);
        }
        Assert.That(LayerRegistry.All, Is.EquivalentTo(declared));
        Assert.That(LayerRegistry.All.Select(d => d.Type), Is.Unique);
        Assert.That(LayerRegistry.Find("Conv9d"), Is.Null);
        Assert.That(() => LayerRegistry.Create("Conv9d", []), Throws.TypeOf<FormatException>().With.Message.EqualTo("unknown layer type 'Conv9d'"));
    }
}
