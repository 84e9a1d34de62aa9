using System.Text.Json.Nodes;
using NeuroPlugin.Graph;
using NeuroPlugin.Layers;
using NeuroPlugin.Models;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Document;

/// <summary>A template the palette offers: a zoo model (replaces the document) or a block (inserted after a node).</summary>
internal sealed record TemplateInfo(string Id, string Label, string Kind, string Description);

/// <summary>
/// Turns runtime graphs into document nodes: opened files, zoo models (<see cref="ModelZoo"/>) and the zoo's blocks
/// (<see cref="ZooBlocks"/>), so templates are built by the same code as the runtime's networks, never copied.
/// </summary>
internal static class Templates
{
    /// <summary>The names the papers use, for the palette (the zoo's lower-case names stay the ids); declared before
    /// <see cref="All"/>, which reads it in the static initializer.</summary>
    static readonly Dictionary<string, string> ModelLabels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["lenet5"] = "LeNet-5", ["alexnet"] = "AlexNet", ["zfnet"] = "ZFNet", ["vgg11"] = "VGG-11", ["vgg16"] = "VGG-16",
        ["googlenet"] = "GoogLeNet", ["inception_v3"] = "Inception v3", ["resnet18"] = "ResNet-18", ["resnet34"] = "ResNet-34",
        ["resnet50"] = "ResNet-50", ["wide_resnet50_2"] = "Wide ResNet-50-2", ["resnext50_32x4d"] = "ResNeXt-50 32×4d",
        ["se_resnet50"] = "SE-ResNet-50", ["pyramidnet"] = "PyramidNet-110", ["ror"] = "RoR-110", ["fractalnet"] = "FractalNet",
        ["densenet121"] = "DenseNet-121", ["xception"] = "Xception", ["squeezenet1_0"] = "SqueezeNet 1.0", ["squeezenet1_1"] = "SqueezeNet 1.1",
        ["mobilenet_v1"] = "MobileNet v1", ["mobilenet_v2"] = "MobileNet v2", ["resnet_cifar"] = "ResNet-20 (CIFAR)",
    };

    /// <summary>Every model of the zoo, then every block.</summary>
    public static IReadOnlyList<TemplateInfo> All { get; } =
    [
        .. ModelZoo.Names.Select(name =>
        {
            var o = ModelZoo.ReferenceOptions(name);
            return new TemplateInfo(name, ModelLabels.GetValueOrDefault(name, name), "model",
                $"the zoo's {name} for {o.InputChannels}×{o.ImageSize}×{o.ImageSize} images, {o.Classes} classes");
        }),
        .. ZooBlocks.Names.Select(name => new TemplateInfo(name, ZooBlocks.Label(name), "block", ZooBlocks.Description(name))),
    ];

    /// <summary>The document of zoo model <paramref name="name"/> for <paramref name="options"/> (default: as published;
    /// see <see cref="TemplateOptions"/>), its nodes grouped by module, laid out top to bottom.</summary>
    public static EditorDocument Model(string name, TemplateOptions? options = null)
    {
        var graph = (options ?? TemplateOptions.Reference(name)).Build(name);
        var document = FromGraph(graph);
        GroupByModule(document, name);
        Layout.Apply(document);
        return document;
    }

    /// <summary>
    /// Inserts block <paramref name="block"/> after node <paramref name="after"/> of <paramref name="document"/>, whose
    /// output has shape <paramref name="afterShape"/> (batch 1): the block reads <paramref name="after"/>, every node
    /// that read <paramref name="after"/> reads the block's output instead, and the block's nodes form one collapsed
    /// group <c>group:{prefix}</c>, where the prefix (<c>residual</c>, <c>residual_2</c>…) is one that no node id and no
    /// group id uses yet. The nodes are laid out from <paramref name="position"/> when given, else one row below the
    /// anchor. Returns the group id.
    /// </summary>
    public static string InsertBlock(EditorDocument document, string block, string after, TensorShape afterShape, (double X, double Y)? position = null)
    {
        string prefix = EditorDocument.Fresh(block.Replace('-', '_'), p =>
            !document.IsUsed(p) && !document.IsUsed("group:" + p) && !document.Nodes.Exists(n => n.Id.StartsWith(p + ".", StringComparison.Ordinal)));
        string groupId = "group:" + prefix;
        const string placeholder = "\u0001input"; // cannot clash with a document id: ids are validated printable
        int[] dims = afterShape.ToArray();
        var graph = ZooBlocks.Build(block, prefix, placeholder, TensorShape.Of(dims[1..]));
        var consumers = document.Nodes.Where(n => n.Inputs.Contains(after)).ToList();
        var anchor = document.Get(after);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var rename = new Dictionary<string, string>(StringComparer.Ordinal) { [placeholder] = after };
        foreach (var node in graph.Nodes)
        {
            rename[node.Name] = document.FreshId(node.Name, taken);
            taken.Add(rename[node.Name]);
        }
        var added = new List<DocumentNode>();
        foreach (var node in graph.Nodes)
        {
            var item = NodeOf(node, rename);
            item.Group = groupId;
            added.Add(item);
        }
        string output = rename[graph.Output];
        foreach (var consumer in consumers)
            for (int i = 0; i < consumer.Inputs.Count; i++)
                if (consumer.Inputs[i] == after) consumer.Inputs[i] = output;
        document.Nodes.InsertRange(document.Nodes.IndexOf(anchor) + 1, added);
        document.Groups.Add(new DocumentGroup(groupId, ZooBlocks.Label(block), block, Collapsed: true));
        var (x, y) = position ?? (anchor.X, anchor.Y + Layout.RowHeight);
        Layout.Place(added, x, y);
        // collapsed, the block is one row high: its readers start one row below it
        if (position is null) Layout.MakeRoom(document, consumers, y, added);
        return groupId;
    }

    /// <summary>A document holding <paramref name="graph"/>: its inputs as Input nodes, its nodes with their attributes
    /// (the inferred ones left out), output and auxiliary heads. Positions are left at 0 (see <see cref="Layout"/>).</summary>
    public static EditorDocument FromGraph(NetworkGraph graph)
    {
        var document = new EditorDocument();
        foreach (var input in graph.Inputs)
        {
            var dims = input.ItemShape.ToArray();
            var attributes = dims.Length == 3
                ? new JsonObject { ["channels"] = dims[0], ["height"] = dims[1], ["width"] = dims[2] }
                : dims.Length == 1 ? new JsonObject { ["features"] = dims[0] }
                : throw new DocumentCommandException($"input '{input.Name}': the editor takes (C,H,W) or (features) inputs, got {input.ItemShape}");
            document.Nodes.Add(new DocumentNode(input.Name, LayerPalette.InputType, attributes));
        }
        var identity = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes) document.Nodes.Add(NodeOf(node, identity));
        document.Output = graph.Output;
        document.AuxiliaryOutputs.AddRange(graph.AuxiliaryOutputs.Select(a => new DocumentAuxiliaryOutput(a.Name, a.Weight)));
        return document;
    }

    static DocumentNode NodeOf(Node node, IReadOnlyDictionary<string, string> rename)
    {
        var attributes = node.Layer.Attributes();
        foreach (string name in LayerPalette.InferredAttributes) attributes.Remove(name);
        if (LayerPalette.Find(node.Layer.Type) is null)
            throw new DocumentCommandException($"{node.Name}: layer type '{node.Layer.Type}' is not in the editor's palette");
        return new DocumentNode(rename.GetValueOrDefault(node.Name, node.Name), node.Layer.Type, attributes)
        {
            Inputs = node.Inputs.Select(i => (string?)rename.GetValueOrDefault(i, i)).ToList(),
        };
    }

    /// <summary>
    /// Groups a zoo model's nodes into its blocks, by module path (<c>layer2.0.conv1</c> is in module <c>layer2.0</c>; a node
    /// named like a module, GoogLeNet's concatenation <c>inception3a</c>, is in that module). A module's nodes start as one
    /// group; then a group whose outside readers all belong to the group of one enclosing module, and which makes one
    /// connected piece with it, joins that group, until none does: a ResNet block takes its <c>downsample</c> branch, a MobileNet v2 block its expansion and
    /// depthwise stages, an Inception module its branches. Groups of at least two nodes that form one piece are kept (ids
    /// <c>group:</c> + the module path, apart from node ids), collapsed so large networks stay readable.
    /// </summary>
    static void GroupByModule(EditorDocument document, string model)
    {
        var layers = document.Nodes.Where(n => n.Type != LayerPalette.InputType).ToList();
        var modulePaths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in layers)
            for (int dot = node.Id.IndexOf('.'); dot > 0; dot = node.Id.IndexOf('.', dot + 1)) modulePaths.Add(node.Id[..dot]);
        var moduleOf = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var node in layers)
            moduleOf[node.Id] = modulePaths.Contains(node.Id) ? node.Id : node.Id.Contains('.') ? node.Id[..node.Id.LastIndexOf('.')] : null;
        var readers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var node in layers)
            foreach (string? input in node.Inputs.Distinct())
                if (input is not null) (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(node.Id);

        for (bool merged = true; merged;)
        {
            merged = false;
            foreach (string module in moduleOf.Values.OfType<string>().Distinct().ToList())
            {
                var members = moduleOf.Where(m => m.Value == module).Select(m => m.Key).ToList();
                var outside = members.SelectMany(m => readers.GetValueOrDefault(m) ?? []).Select(r => moduleOf[r]).Where(m => m != module).Distinct().ToList();
                if (outside is not [string enclosing] || !module.StartsWith(enclosing + ".", StringComparison.Ordinal)) continue;
                var joined = moduleOf.Where(m => m.Value == enclosing).Select(m => m.Key).Concat(members).ToHashSet(StringComparer.Ordinal);
                if (!Connected(joined, readers)) continue; // DenseNet's "features" holds the stem and the head, apart: not a block
                foreach (string member in members) moduleOf[member] = enclosing;
                merged = true;
            }
        }

        foreach (var module in layers.Where(n => moduleOf[n.Id] is not null).GroupBy(n => moduleOf[n.Id]!, StringComparer.Ordinal))
        {
            // a group drawn as one node must be one piece (DenseNet's "features": the stem and the head stay apart)
            if (module.Count() < 2 || !Connected(module.Select(n => n.Id).ToHashSet(StringComparer.Ordinal), readers)) continue;
            foreach (var node in module) node.Group = "group:" + module.Key;
            document.Groups.Add(new DocumentGroup("group:" + module.Key, module.Key, model, Collapsed: true));
        }
    }

    /// <summary>True when <paramref name="nodes"/> form one piece through the edges among them (direction ignored).</summary>
    static bool Connected(HashSet<string> nodes, Dictionary<string, List<string>> readers)
    {
        var neighbours = nodes.ToDictionary(n => n, _ => new List<string>(), StringComparer.Ordinal);
        foreach (string node in nodes)
            foreach (string reader in readers.GetValueOrDefault(node) ?? [])
                if (nodes.Contains(reader))
                {
                    neighbours[node].Add(reader);
                    neighbours[reader].Add(node);
                }
        var seen = new HashSet<string>(StringComparer.Ordinal) { nodes.First() };
        var pending = new Stack<string>(seen);
        while (pending.TryPop(out string? node))
            foreach (string next in neighbours[node])
                if (seen.Add(next)) pending.Push(next);
        return seen.Count == nodes.Count;
    }
}
