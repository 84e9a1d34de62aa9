using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Editor.Server;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Editor.Document;

/// <summary>
/// The document the editor works on, as the server owns it: the current <see cref="EditorDocument"/> and its
/// <see cref="DocumentAnalysis"/>, undo and redo stacks of whole-document snapshots (a command is applied to a copy, so
/// a refused command changes nothing), the file it came from, and the weights loaded from a file or left by training
/// (kept for every parameter whose name and shape still match when saving). Thread-safe: every member takes one lock.
/// <see cref="Changed"/> fires after each change, outside the lock.
/// </summary>
internal sealed class DocumentSession
{
    /// <summary>Undo steps kept; older ones are dropped.</summary>
    public const int UndoLimit = 200;

    readonly object gate = new();
    readonly FolderGuard folder;
    readonly LinkedList<EditorDocument> undo = new();
    readonly Stack<EditorDocument> redo = new();
    EditorDocument current = EditorDocument.CreateDefault();
    DocumentAnalysis analysis;
    Dictionary<string, float[]> weights = new(StringComparer.Ordinal);

    public DocumentSession(FolderGuard folder)
    {
        this.folder = folder;
        analysis = new DocumentAnalysis(current);
    }

    /// <summary>The served folder: every path a client names (documents, image-folder datasets) is resolved inside it.</summary>
    public FolderGuard Folder => folder;

    /// <summary>Raised after every change (command, undo, redo, open, save), on the thread that made it.</summary>
    public event Action? Changed;

    public long Revision { get { lock (gate) return revision; } }
    long revision;
    string name = "untitled";
    string? path;
    bool dirty;

    /// <summary>The current analysis (immutable; a change replaces it).</summary>
    public DocumentAnalysis Analysis { get { lock (gate) return analysis; } }

    /// <summary>A copy of the current document.</summary>
    public EditorDocument Snapshot() { lock (gate) return current.Clone(); }

    /// <summary>Applies one command (see <see cref="DocumentCommands"/>); an undo step.</summary>
    public void Execute(JsonObject command)
    {
        if (command["op"] is JsonValue v && v.TryGetValue(out string? op) && op == "copy")
            throw new DocumentCommandException("'copy' changes nothing: call Copy");
        lock (gate)
        {
            var next = current.Clone();
            DocumentCommands.Apply(next, analysis, command);
            Push(next);
        }
        Changed?.Invoke();
    }

    /// <summary>The clipboard JSON of nodes <paramref name="ids"/>.</summary>
    public JsonObject Copy(IEnumerable<string> ids) { lock (gate) return DocumentCommands.Copy(current, ids); }

    public bool CanUndo { get { lock (gate) return undo.Count > 0; } }
    public bool CanRedo { get { lock (gate) return redo.Count > 0; } }

    /// <summary>Restores the document before the last command. Throws <see cref="InvalidOperationException"/> when there is none.</summary>
    public void Undo()
    {
        lock (gate)
        {
            if (undo.Count == 0) throw new InvalidOperationException("nothing to undo");
            redo.Push(current);
            current = undo.Last!.Value;
            undo.RemoveLast();
            Touch();
        }
        Changed?.Invoke();
    }

    /// <summary>Re-applies the last undone command. Throws <see cref="InvalidOperationException"/> when there is none.</summary>
    public void Redo()
    {
        lock (gate)
        {
            if (redo.Count == 0) throw new InvalidOperationException("nothing to redo");
            undo.AddLast(current);
            current = redo.Pop();
            Touch();
        }
        Changed?.Invoke();
    }

    /// <summary>Opens <paramref name="relativePath"/> (a <c>.neuro</c> model file or an <c>.onnx</c> model, imported) with its weights;
    /// an undo step (the weights are not undone).</summary>
    public void Open(string relativePath)
    {
        string full = folder.Resolve(relativePath);
        if (!File.Exists(full)) throw new FileNotFoundException($"{relativePath}: no such file in the served folder");
        NetworkGraph graph;
        var loaded = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (full.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            var imported = OnnxImporter.Convert(full);
            graph = imported.Graph;
            foreach (var (key, values) in imported.State) loaded[key] = values;
        }
        else if (full.EndsWith(".neuro", StringComparison.OrdinalIgnoreCase))
        {
            using var cpu = new CpuBackend();
            using var network = ModelFile.Load(full, cpu);
            graph = network.Graph;
            foreach (string p in network.ParameterNames) loaded[p] = network.Parameter(p).ToArray();
            foreach (string b in network.BufferNames) loaded[b] = network.Buffer(b).ToArray();
        }
        else throw new DocumentCommandException($"{relativePath}: the editor opens .neuro and .onnx files");
        var document = Templates.FromGraph(graph);
        Layout.Apply(document);
        lock (gate)
        {
            Push(document);
            weights = loaded;
            path = folder.Relative(full);
            name = Path.GetFileNameWithoutExtension(full);
            dirty = false;
        }
        Changed?.Invoke();
    }

    /// <summary>Saves the valid network as a <c>.neuro</c> file at <paramref name="relativePath"/> (default: where it came
    /// from), with the kept weights where names and shapes match and the layers' initializers elsewhere (seed 1).</summary>
    public void Save(string? relativePath)
    {
        lock (gate)
        {
            string target = relativePath ?? path ?? throw new DocumentCommandException("save: give a path (the document has never been saved)");
            if (!target.EndsWith(".neuro", StringComparison.OrdinalIgnoreCase)) throw new DocumentCommandException($"save: '{target}' must end in .neuro (use export for ONNX)");
            string full = folder.Resolve(target);
            using var cpu = new CpuBackend();
            using var network = CreateNetwork(analysis.RequireValidGraph("save"), cpu);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            ModelFile.Save(network, full);
            path = folder.Relative(full);
            name = Path.GetFileNameWithoutExtension(full);
            dirty = false;
            revision++;
        }
        Changed?.Invoke();
    }

    /// <summary>Exports the valid network to ONNX (opset 14) at <paramref name="relativePath"/>; returns the path written.</summary>
    public string Export(string relativePath)
    {
        lock (gate)
        {
            if (!relativePath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) throw new DocumentCommandException($"export: '{relativePath}' must end in .onnx");
            string full = folder.Resolve(relativePath);
            using var cpu = new CpuBackend();
            using var network = CreateNetwork(analysis.RequireValidGraph("export"), cpu);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            OnnxExporter.Export(network, full);
            return folder.Relative(full);
        }
    }

    /// <summary>The valid network's graph and a copy of the kept weights, for a training run.</summary>
    public (NetworkGraph Graph, IReadOnlyDictionary<string, float[]> Weights) TrainingSnapshot()
    {
        lock (gate) return (analysis.RequireValidGraph("train"), new Dictionary<string, float[]>(weights, StringComparer.Ordinal));
    }

    /// <summary>Keeps trained weights (state-dict names) for the next save; raises <see cref="Changed"/> (the document is dirty).</summary>
    public void KeepWeights(IReadOnlyDictionary<string, float[]> trained)
    {
        lock (gate)
        {
            foreach (var (key, values) in trained) weights[key] = values;
            dirty = true;
            revision++;
        }
        Changed?.Invoke();
    }

    /// <summary>Uploads <paramref name="weights"/> into <paramref name="network"/> where name and length match (the others keep their initial values).</summary>
    internal static void LoadWeights(Network network, IReadOnlyDictionary<string, float[]> weights)
    {
        foreach (string p in network.ParameterNames)
            if (weights.TryGetValue(p, out var values) && values.Length == network.Parameter(p).Length) network.Parameter(p).Upload(values);
        foreach (string b in network.BufferNames)
            if (weights.TryGetValue(b, out var values) && values.Length == network.Buffer(b).Length) network.Buffer(b).Upload(values);
    }

    Network CreateNetwork(NetworkGraph graph, CpuBackend cpu)
    {
        var network = Network.Create(graph, cpu, seed: 1);
        LoadWeights(network, weights);
        return network;
    }

    void Push(EditorDocument next)
    {
        undo.AddLast(current);
        if (undo.Count > UndoLimit) undo.RemoveFirst();
        redo.Clear();
        current = next;
        Touch();
    }

    void Touch()
    {
        analysis = new DocumentAnalysis(current);
        revision++;
        dirty = true;
    }

    /// <summary>The document as the protocol's JSON (UTF-8), written once per revision (the HTTP answer and the
    /// WebSocket push of one change share it). Callers must not modify the array.</summary>
    public byte[] ToJson()
    {
        lock (gate)
        {
            if (json is null || jsonRevision != revision)
            {
                json = DocumentJson.Write(current, analysis, revision, name, path, dirty, undo.Count > 0, redo.Count > 0);
                jsonRevision = revision;
            }
            return json;
        }
    }

    byte[]? json;
    long jsonRevision = -1;
}
