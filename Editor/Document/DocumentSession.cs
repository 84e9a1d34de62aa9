using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Editor.Server;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Document;

/// <summary>A parameter's or buffer's values with the shape they had (a weight is reused only where the shape still matches).</summary>
internal sealed record Weight(TensorShape Shape, float[] Values);

/// <summary>
/// The file a document belongs to: its name, its path in the served folder (null until saved) and the weights that
/// go with it (loaded from the file or left by training; state-dict names). Open, <c>new</c> and a model template
/// start a new one; edits keep it, so undo and redo move between files together with the graph, and the weights a
/// run trained go back only to the file the run started from.
/// </summary>
internal sealed class DocumentFile(string name, string? path, IReadOnlyDictionary<string, Weight> weights)
{
    static long lastId;

    /// <summary>A number no other file of this process has: the protocol's <c>file</c>, which tells a client that the
    /// document was replaced (new, open, a model template) or that undo went back to another file, and which file the
    /// train form's values belong to.</summary>
    public long Id { get; } = Interlocked.Increment(ref lastId);
    public string Name { get; set; } = name;
    public string? Path { get; set; } = path;
    /// <summary>Replaced whole (never changed in place), so a copy handed out stays as it was.</summary>
    public IReadOnlyDictionary<string, Weight> Weights { get; set; } = weights;
    /// <summary>What the opened file or the last training run said about the model (labels, normalization, provenance);
    /// saved and exported with it as far as it still fits the graph.</summary>
    public ModelMetadata? Metadata { get; set; }

    public static DocumentFile Untitled() => new("untitled", null, new Dictionary<string, Weight>(StringComparer.Ordinal));

    /// <summary>Bytes the weights hold (4 per value).</summary>
    public long WeightBytes => Weights.Values.Sum(w => 4L * w.Values.Length);

    /// <summary>The train form's values (request field names, as the editor's form last held them), saved in the
    /// <c>.neuro</c> file's metadata (<see cref="ModelFile.TrainingOptionsKey"/>); null before the form changed any.
    /// Replaced whole.</summary>
    public JsonObject? TrainingForm { get; set; }
}

/// <summary>
/// The document the editor works on, as the server owns it: the current <see cref="EditorDocument"/> and its
/// <see cref="DocumentAnalysis"/>, undo and redo stacks of whole-document snapshots (a command is applied to a copy and
/// analysed before anything changes, so a refused command changes nothing), and the <see cref="DocumentFile"/> the
/// document belongs to (name, path, weights: kept for every parameter whose name and shape still match when saving),
/// which each snapshot carries, so undoing an Open returns to the previous file. Thread-safe: every member takes one
/// lock. <see cref="Changed"/> fires after each change, outside the lock.
/// </summary>
internal sealed class DocumentSession
{
    /// <summary>Undo steps kept at most; older ones are dropped.</summary>
    public const int UndoLimit = 200;

    /// <summary>Estimated bytes the undo steps may hold together (documents, plus the weights of files left behind by
    /// open/new/model templates); the oldest steps are dropped beyond it, the newest is always kept. 64 MiB.</summary>
    public const long DefaultUndoBytesLimit = 64L << 20;

    /// <summary>One undo or redo step: a document, its file, and the bytes it is estimated to hold.</summary>
    sealed record Step(EditorDocument Document, DocumentFile File, long Bytes);

    readonly object gate = new();
    readonly FolderGuard folder;
    readonly Func<EditorDocument, DocumentAnalysis> analyse;
    readonly LinkedList<Step> undo = new();
    readonly Stack<Step> redo = new();
    long undoBytes;
    EditorDocument current = EditorDocument.CreateDefault();
    DocumentFile file = DocumentFile.Untitled();
    DocumentAnalysis analysis;

    public DocumentSession(FolderGuard folder) : this(folder, d => new DocumentAnalysis(d)) { }

    /// <summary>A session whose documents are analysed by <paramref name="analyse"/> (tests replace the analysis).</summary>
    internal DocumentSession(FolderGuard folder, Func<EditorDocument, DocumentAnalysis> analyse)
    {
        this.folder = folder;
        this.analyse = analyse;
        analysis = Analyse(current, "start");
    }

    /// <summary>The served folder: every path a client names (documents, image-folder datasets) is resolved inside it.</summary>
    public FolderGuard Folder => folder;

    /// <summary>Raised after every change (command, undo, redo, open, save), on the thread that made it.</summary>
    public event Action? Changed;

    /// <summary>Why the network may not change now (a training run is using it), or null when it may. While it gives a
    /// reason, every command, undo, redo or open that would change the network (nodes, attributes, connections, output)
    /// or replace the document is refused with <see cref="EditorConflictException"/> carrying that reason; moving nodes,
    /// collapsing and ungrouping still work. Called under the session's lock: it must not call back into the session.</summary>
    public Func<string?>? StructureLock { get; set; }

    public long Revision { get { lock (gate) return revision; } }
    long revision;
    bool dirty;
    /// <summary>The revision the last command or open made, which a layout may amend; -1 after anything else.</summary>
    long amendableRevision = -1;

    /// <summary>Estimated bytes held by the undo steps; at most <see cref="UndoBytesLimit"/> unless only one step is left.</summary>
    public long UndoBytes { get { lock (gate) return undoBytes; } }

    /// <summary>Undo steps held now (at most <see cref="UndoLimit"/>).</summary>
    public int UndoCount { get { lock (gate) return undo.Count; } }

    /// <summary>The byte limit of the undo history (default <see cref="DefaultUndoBytesLimit"/>).</summary>
    public long UndoBytesLimit { get; init; } = DefaultUndoBytesLimit;

    /// <summary>The current analysis (immutable; a change replaces it).</summary>
    public DocumentAnalysis Analysis { get { lock (gate) return analysis; } }

    /// <summary>A copy of the current document.</summary>
    public EditorDocument Snapshot() { lock (gate) return current.Clone(); }

    /// <summary>The file the current document belongs to (compare by reference: a run's weights go back only to it).</summary>
    public DocumentFile File { get { lock (gate) return file; } }

    /// <summary>Applies one command (see <see cref="DocumentCommands"/>); an undo step. <c>new</c> and model templates
    /// start an untitled document without weights, with nothing unsaved. A <c>moveNodes</c> or <c>layout</c> with
    /// <c>"amends": R</c>, sent when the document is still at revision R made by a command or an open, belongs to that
    /// change: no undo step of its own (one user action, one undo); otherwise it is an ordinary step.</summary>
    public void Execute(JsonObject command)
    {
        string op = command["op"] is JsonValue v && v.TryGetValue(out string? name) ? name : "command";
        if (op == "copy") throw new DocumentCommandException("'copy' changes nothing: call Copy");
        long? amends = command["amends"] switch
        {
            null => null,
            JsonValue a when a.TryGetValue(out long r) && op is "moveNodes" or "layout" => r,
            _ => throw new DocumentCommandException("'amends' must be the revision a moveNodes or layout belongs to", "amends"),
        };
        lock (gate)
        {
            var next = current.Clone();
            bool replaced = DocumentCommands.Apply(next, analysis, command);
            if (amends is long r && r == revision && r == amendableRevision)
            {
                analysis = Analyse(next, op);
                current = next;
                amendableRevision = ++revision;
            }
            else
            {
                Commit(next, replaced ? DocumentFile.Untitled() : file, op);
                if (replaced) dirty = false;
            }
        }
        Changed?.Invoke();
    }

    /// <summary>The clipboard JSON of nodes <paramref name="ids"/>.</summary>
    public JsonObject Copy(IEnumerable<string> ids) { lock (gate) return DocumentCommands.Copy(current, ids); }

    public bool CanUndo { get { lock (gate) return undo.Count > 0; } }
    public bool CanRedo { get { lock (gate) return redo.Count > 0; } }

    /// <summary>Restores the document (and its file: name, path, weights) before the last change. Throws
    /// <see cref="EditorConflictException"/> when there is none.</summary>
    public void Undo()
    {
        lock (gate)
        {
            if (undo.Count == 0) throw new EditorConflictException("nothing to undo");
            var step = undo.Last!.Value;
            CheckStructureLock(step.Document, step.File, "undo");
            var restored = Analyse(step.Document, "undo");
            undo.RemoveLast();
            undoBytes -= step.Bytes;
            redo.Push(new Step(current, file, 0)); // redo holds at most what undo held; its size counts again when redone
            (current, file, analysis) = (step.Document, step.File, restored);
            Touch();
        }
        Changed?.Invoke();
    }

    /// <summary>Re-applies the last undone change. Throws <see cref="EditorConflictException"/> when there is none.</summary>
    public void Redo()
    {
        lock (gate)
        {
            if (redo.Count == 0) throw new EditorConflictException("nothing to redo");
            var step = redo.Peek();
            CheckStructureLock(step.Document, step.File, "redo");
            var restored = Analyse(step.Document, "redo");
            redo.Pop();
            PushUndo(new Step(current, file, StepBytes(step.File)));
            (current, file, analysis) = (step.Document, step.File, restored);
            Touch();
        }
        Changed?.Invoke();
    }

    /// <summary>Opens <paramref name="relativePath"/> (a <c>.neuro</c> model file or an <c>.onnx</c> model, imported) with its
    /// weights; an undo step (undo returns to the previous document, its path and its weights).</summary>
    public void Open(string relativePath)
    {
        string full = folder.Resolve(relativePath);
        if (!System.IO.File.Exists(full)) throw new FileNotFoundException($"{relativePath}: no such file in the served folder");
        bool onnx = full.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        if (!onnx && !full.EndsWith(".neuro", StringComparison.OrdinalIgnoreCase))
            throw new DocumentCommandException($"{relativePath}: the editor opens .neuro and .onnx files");
        using var cpu = new CpuBackend();
        using var network = InferCommand.Load(full, cpu, out var metadata);
        var document = Templates.FromGraph(network.Graph);
        Layout.Apply(document);
        var opened = new DocumentFile(Path.GetFileNameWithoutExtension(full), folder.Relative(full), ReadWeights(network))
        {
            Metadata = metadata,
            TrainingForm = onnx ? null : ModelFile.ReadTrainingOptions(full),
        };
        lock (gate)
        {
            Commit(document, opened, "open");
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
            string target = relativePath ?? file.Path ?? throw new DocumentCommandException("save: give a path (the document has never been saved)");
            string full = folder.Resolve(CheckFileName("save", target, ".neuro", " (use export for ONNX)"));
            using var cpu = new CpuBackend();
            using var network = CreateNetwork(analysis.RequireValidGraph("save"), cpu);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            ModelFile.Save(network, full, file.Metadata?.FitTo(network.Graph), file.TrainingForm);
            file.Path = folder.Relative(full);
            file.Name = Path.GetFileNameWithoutExtension(full);
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
            string full = folder.Resolve(CheckFileName("export", relativePath, ".onnx", ""));
            using var cpu = new CpuBackend();
            using var network = CreateNetwork(analysis.RequireValidGraph("export"), cpu);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            OnnxExporter.Export(network, full, file.Metadata?.FitTo(network.Graph));
            return folder.Relative(full);
        }
    }

    /// <summary>The current file's id and train form values (<see cref="DocumentFile.TrainingForm"/>; null: the defaults).</summary>
    public (long File, JsonObject? Values) TrainingForm()
    {
        lock (gate) return (file.Id, file.TrainingForm?.DeepClone().AsObject());
    }

    /// <summary>Keeps <paramref name="values"/> as the train form of file <paramref name="fileId"/> when it is still the
    /// current one (saved with it; not an undo step). Throws <see cref="EditorConflictException"/> when open, <c>new</c>,
    /// a model template or undo has replaced it: the client reads the new file's values instead.</summary>
    public void SetTrainingForm(long fileId, JsonObject values)
    {
        lock (gate)
        {
            if (file.Id != fileId) throw new EditorConflictException($"the document's file changed (now {file.Id}, not {fileId}): read its train form again");
            file.TrainingForm = values.DeepClone().AsObject();
        }
    }

    /// <summary>The valid network's graph, the kept weights, and the file they belong to (for <see cref="KeepWeights"/>), for a training run.</summary>
    public (NetworkGraph Graph, IReadOnlyDictionary<string, Weight> Weights, DocumentFile File) TrainingSnapshot()
    {
        lock (gate) return (analysis.RequireValidGraph("train"), file.Weights, file);
    }

    /// <summary>Keeps trained weights (state-dict names) for the next save when the document still belongs to
    /// <paramref name="from"/>, the file the run started from (it may have been edited since; undo and redo may have
    /// left it and come back); raises <see cref="Changed"/> (the document is dirty). Returns false, keeping nothing,
    /// when open, <c>new</c> or a model template replaced it meanwhile.</summary>
    public bool KeepWeights(IReadOnlyDictionary<string, Weight> trained, DocumentFile from, ModelMetadata? metadata = null)
    {
        lock (gate)
        {
            if (!ReferenceEquals(from, file)) return false;
            file.Metadata = metadata ?? file.Metadata;
            var merged = new Dictionary<string, Weight>(file.Weights, StringComparer.Ordinal);
            foreach (var (key, weight) in trained) merged[key] = weight;
            file.Weights = merged;
            dirty = true;
            revision++;
        }
        Changed?.Invoke();
        return true;
    }

    /// <summary>Every parameter and buffer of <paramref name="network"/>, read back with its shape.</summary>
    internal static Dictionary<string, Weight> ReadWeights(Network network)
    {
        var weights = new Dictionary<string, Weight>(StringComparer.Ordinal);
        foreach (string p in network.ParameterNames) weights[p] = new Weight(network.Parameter(p).Shape, network.Parameter(p).ToArray());
        foreach (string b in network.BufferNames) weights[b] = new Weight(network.Buffer(b).Shape, network.Buffer(b).ToArray());
        return weights;
    }

    /// <summary>Uploads <paramref name="weights"/> into <paramref name="network"/> where name and shape match (the others keep their initial values).</summary>
    internal static void LoadWeights(Network network, IReadOnlyDictionary<string, Weight> weights)
    {
        foreach (string p in network.ParameterNames)
            if (weights.TryGetValue(p, out var w) && w.Shape == network.Parameter(p).Shape) network.Parameter(p).Upload(w.Values);
        foreach (string b in network.BufferNames)
            if (weights.TryGetValue(b, out var w) && w.Shape == network.Buffer(b).Shape) network.Buffer(b).Upload(w.Values);
    }

    Network CreateNetwork(NetworkGraph graph, CpuBackend cpu)
    {
        var network = Network.Create(graph, cpu, seed: 1);
        LoadWeights(network, file.Weights);
        return network;
    }

    /// <summary>Makes <paramref name="next"/> (of file <paramref name="nextFile"/>) the current document: checked against
    /// the <see cref="StructureLock"/> and analysed first (a refusal throws and changes nothing), then the undo step is
    /// recorded.</summary>
    void Commit(EditorDocument next, DocumentFile nextFile, string what)
    {
        CheckStructureLock(next, nextFile, what);
        var nextAnalysis = Analyse(next, what);
        PushUndo(new Step(current, file, StepBytes(nextFile)));
        redo.Clear();
        (current, file, analysis) = (next, nextFile, nextAnalysis);
        Touch();
        amendableRevision = revision;
    }

    /// <summary>Throws while <see cref="StructureLock"/> gives a reason and <paramref name="next"/> (of
    /// <paramref name="nextFile"/>) is another network or another file than the current one.</summary>
    void CheckStructureLock(EditorDocument next, DocumentFile nextFile, string what)
    {
        if (ReferenceEquals(nextFile, file) && next.SameNetwork(current)) return;
        if (StructureLock?.Invoke() is string reason) throw new EditorConflictException($"{what}: {reason}");
    }

    /// <summary><paramref name="path"/> when it names a file ending in <paramref name="extension"/> with a name before
    /// it; else a refusal naming the path (a bare <c>.neuro</c> would make a hidden, nameless file).</summary>
    static string CheckFileName(string what, string path, string extension, string hint)
    {
        if (!path.EndsWith(extension, StringComparison.OrdinalIgnoreCase)) throw new DocumentCommandException($"{what}: '{path}' must end in {extension}{hint}", "path");
        string stem = Path.GetFileName(path)[..^extension.Length];
        if (stem.Trim().Length == 0 || stem.StartsWith('.'))
            throw new DocumentCommandException($"{what}: '{path}' has no file name before {extension}", "path");
        return path;
    }

    /// <summary>The estimated size of an undo step holding the current document when <paramref name="nextFile"/> comes
    /// next: the document, plus the current file's weights when the step leaves that file behind.</summary>
    long StepBytes(DocumentFile nextFile) => current.EstimateBytes() + (ReferenceEquals(nextFile, file) ? 0 : file.WeightBytes);

    void PushUndo(Step step)
    {
        undo.AddLast(step);
        undoBytes += step.Bytes;
        while (undo.Count > UndoLimit || (undoBytes > UndoBytesLimit && undo.Count > 1))
        {
            undoBytes -= undo.First!.Value.Bytes;
            undo.RemoveFirst();
        }
    }

    /// <summary>The analysis of <paramref name="document"/>; an exception other than a refusal becomes a
    /// <see cref="DocumentCommandException"/> naming the change (the analysis names the node where it can).</summary>
    DocumentAnalysis Analyse(EditorDocument document, string what)
    {
        try
        {
            return analyse(document);
        }
        catch (Exception e) when (e is not DocumentCommandException)
        {
            throw new DocumentCommandException($"{what}: the document could not be analysed: {e.Message}");
        }
    }

    void Touch()
    {
        revision++;
        dirty = true;
        amendableRevision = -1;
    }

    /// <summary>The document as the protocol's JSON (UTF-8), written once per revision (the HTTP answer and the
    /// WebSocket push of one change share it). Callers must not modify the array.</summary>
    public byte[] ToJson()
    {
        lock (gate)
        {
            if (json is null || jsonRevision != revision)
            {
                json = DocumentJson.Write(current, analysis, revision, file.Name, file.Path, dirty, undo.Count > 0, redo.Count > 0, file.Id);
                jsonRevision = revision;
            }
            return json;
        }
    }

    byte[]? json;
    long jsonRevision = -1;
}
