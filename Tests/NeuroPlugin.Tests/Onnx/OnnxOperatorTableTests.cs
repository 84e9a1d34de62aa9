using System.Runtime.CompilerServices;
using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Tests.Zoo;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>
/// The table of ONNX ops × backends in <c>Documentation~/OnnxOperators.md</c>: the importer's ops and how each imports
/// (layer, folded) from its dispatch table <see cref="OnnxOperators"/>, and the rest from what the tests really
/// exercise: the ops in the models of <see cref="OnnxOpTests"/>, <see cref="OnnxShapeOpsTests"/>, <see cref="OnnxReductionTests"/>, <see cref="OnnxOpset18To21Tests"/>,
/// <see cref="OnnxMatMulTests"/>, <see cref="OnnxGemmTests"/>, <see cref="OnnxHighRankTests"/>, <see cref="OnnxAttentionViewTests"/> and <see cref="OnnxFixtureTests"/> (each imported and run
/// on the CPU and GL backends against ONNX Runtime) and the ops our exporter writes for every zoo model and
/// <see cref="OnnxExportTests"/>' every-layer, general-ops and Upsample networks and <see cref="OnnxNormalizationTests"/>' network (each run in ONNX Runtime against our output).
/// The test fails when the committed table is out of date; <c>NEURO_UPDATE_DOCS=1</c> rewrites it.
/// </summary>
public sealed class OnnxOperatorTableTests
{
    /// <summary>Where each op was seen: the test models (name, opset) that contain it.</summary>
    sealed class Coverage
    {
        readonly SortedDictionary<string, SortedSet<string>> models = new(StringComparer.Ordinal);
        readonly SortedDictionary<string, SortedSet<long>> opsets = new(StringComparer.Ordinal);

        public void Add(ModelProto model, string name)
        {
            long opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
            foreach (var node in model.Graph!.Node)
            {
                (models.TryGetValue(node.OpType, out var m) ? m : models[node.OpType] = new(StringComparer.Ordinal)).Add(name);
                (opsets.TryGetValue(node.OpType, out var o) ? o : opsets[node.OpType] = []).Add(opset);
            }
        }

        public IEnumerable<string> Ops => models.Keys;
        public bool Contains(string op) => models.ContainsKey(op);
        public int ModelCount(string op) => models.TryGetValue(op, out var m) ? m.Count : 0;
        public string Opsets(string op) => opsets.TryGetValue(op, out var o) ? string.Join(", ", o) : "";
    }

    static Coverage Imported()
    {
        var coverage = new Coverage();
        foreach (var c in OnnxOpTests.Cases.Concat(OnnxShapeOpsTests.Cases).Concat(OnnxReductionTests.Cases).Concat(OnnxMatMulTests.Cases).Concat(OnnxGemmTests.EveryTranspose).Concat(OnnxGemmTests.Cases).Concat(OnnxHighRankTests.Cases).Concat(OnnxAttentionViewTests.BatchViewOpCases).Concat(OnnxOpset18To21Tests.Cases))
            coverage.Add(OnnxImporter.Parse(OnnxOpTests.ModelBytes(c), c.Name), c.Name);
        foreach (string name in OnnxFixtureTests.Fixtures.Concat(OnnxFixtureTests.PatternFixtures))
            coverage.Add(OnnxImporter.Parse(File.ReadAllBytes(OnnxRun.FixturePath(name + ".onnx")), name), name);
        return coverage;
    }

    static Coverage Exported()
    {
        var coverage = new Coverage();
        using var cpu = new CpuBackend();
        foreach (var c in ZooTrainingTests.Cases())
        {
            using var network = Network.Create(ModelZoo.Build(c.Name, c.Options), cpu, seed: 1);
            coverage.Add(OnnxExporter.ToModel(network), c.Name);
        }
        using var everyLayer = Network.Create(OnnxExportTests.EveryLayer(), cpu, seed: 1);
        coverage.Add(OnnxExporter.ToModel(everyLayer), "every_layer");
        using var generalOps = Network.Create(OnnxExportTests.GeneralOps(), cpu, seed: 1);
        coverage.Add(OnnxExporter.ToModel(generalOps), "general_ops");
        using var norms = Network.Create(OnnxNormalizationTests.EveryLayer(), cpu, seed: 1);
        coverage.Add(OnnxExporter.ToModel(norms), "norms_and_transposed");
        foreach (var upsample in new[] { new Upsample(7, 5), Upsample.WithScaleFactor(1.5f, 2.25f) })
        {
            using var resize = Network.Create(OnnxExportTests.UpsampleNetwork(upsample), cpu, seed: 1);
            coverage.Add(OnnxExporter.ToModel(resize), $"upsample {upsample}");
        }
        return coverage;
    }

    /// <summary>Every op of the importer's dispatch table is imported and run by some test model, so the table in the
    /// docs never lists an op as supported that no test exercises.</summary>
    [Test]
    public void EverySupportedOpIsInSomeTestModel()
    {
        var imported = Imported();
        Assert.That(OnnxOperators.All.Select(op => op.Name).Where(op => !imported.Contains(op)), Is.Empty, "supported ops that no imported test model contains");
    }

    [Test]
    public void OperatorTableInTheDocsIsCurrent()
    {
        string table = Table(Imported(), Exported());
        string path = Path.Combine(RepositoryRoot(), "Documentation~", "OnnxOperators.md");
        if (Environment.GetEnvironmentVariable("NEURO_UPDATE_DOCS") == "1")
            File.WriteAllText(path, table);
        Assert.That(File.Exists(path) ? File.ReadAllText(path) : "(missing)", Is.EqualTo(table),
            $"{path} is out of date: run the tests with NEURO_UPDATE_DOCS=1 to rewrite it");
    }

    static string Table(Coverage imported, Coverage exported)
    {
        var supported = OnnxOperators.All.ToDictionary(op => op.Name, StringComparer.Ordinal);
        var text = new StringBuilder();
        text.AppendLine("# ONNX operators × backends");
        text.AppendLine();
        text.AppendLine("Generated by `OnnxOperatorTableTests` (Tests/NeuroPlugin.Tests/Onnx) from the models the tests run; do not edit.");
        text.AppendLine("Rewrite with `NEURO_UPDATE_DOCS=1 dotnet test Tests/NeuroPlugin.Tests -c Release --filter OnnxOperatorTableTests`.");
        text.AppendLine();
        text.AppendLine("- **Import**: `layer` = becomes a layer of our graph (or a view of a tensor) that the backends run; `folded` = computed at");
        text.AppendLine("  import time when every input is a constant (shape arithmetic, constants). An op outside this table is an error naming");
        text.AppendLine($"  the node, op and opset, never skipped. Opsets {OnnxImporter.MinOpset}–{OnnxImporter.MaxOpset} are accepted.");
        text.AppendLine("- **CPU / GL**: ✓ = imported and run on that backend in a test, compared with ONNX Runtime (and PyTorch for the");
        text.AppendLine("  exported fixtures) within 1e-4 relative (OnnxOpTests, OnnxShapeOpsTests, OnnxReductionTests,");
        text.AppendLine("  OnnxMatMulTests, OnnxGemmTests, OnnxHighRankTests, OnnxOpset18To21Tests, OnnxFixtureTests).");
        text.AppendLine("- **Export**: ✓ = written by `neuro export` / `OnnxExporter` for some zoo model, the every-layer and general-ops");
        text.AppendLine("  test networks or the Upsample networks, and");
        text.AppendLine("  run in ONNX Runtime against our output (OnnxZooExportTests, OnnxExportTests).");
        text.AppendLine("- **Opsets tested**: the opsets of the test models that contain the op; **Models**: how many test models contain it.");
        text.AppendLine();
        text.AppendLine("Our tensors are (N,…) with the batch axis first and at most 4 axes; what an op would need beyond that is an error");
        text.AppendLine("naming the node. A Reshape, Unsqueeze or Transpose may give a view of up to 8 axes (ShuffleNet's (N,g,C/g,H,W)) that");
        text.AppendLine("Reshape, Transpose, Flatten, (Un)Squeeze, Shape and Identity read; a Transpose of it permutes the fewest axes that");
        text.AppendLine("describe its move (axes that move together merged, axes of size 1 left out), in block swaps of at most 4 axes each");
        text.AppendLine("where more remain. Element-wise ops (arithmetic, functions, activations) and Softmax read such a view too, on a");
        text.AppendLine("view whose axes are merged where every operand broadcasts alike (MaxViT's (N,G,heads,I,J) scores plus a per-head");
        text.AppendLine("bias); where more than 4 groups remain, and for any other op, a view of more than 4 axes is refused. MatMul takes");
        text.AppendLine("a constant matrix or vector on either side (NumPy's rules) or two tensors of one rank ≥ 3; Gemm takes a tensor and a");
        text.AppendLine("constant as A and B in every transpose (a transposed tensor is a view; a tensor B gives the (M,N) result as a view");
        text.AppendLine("with the batch in its columns, α·op(A)·op(B) + β·C = (α·op(B)ᵀ·op(A)ᵀ + β·Cᵀ)ᵀ) and a constant C that does not");
        text.AppendLine("vary along the batch; products of constants fold in every transpose. A product that would sum over or pair the");
        text.AppendLine("batch axis (a Gemm of two tensors, or whose tensor operand sums over its batch axis, W·x of an (N,K) x) is");
        text.AppendLine("refused. Einsum takes two tensors in the form of a batched matrix product (MaxViT's \"bghid,bghjd->bghij\": batch");
        text.AppendLine("letters first in both inputs and the output, one contracted letter, either input's last two letters in either");
        text.AppendLine("order); any other equation is refused by name.");
        text.AppendLine();
        text.AppendLine("A Transpose that moves the batch axis, and a Reshape that merges it with other axes (shape entries k·N, such as");
        text.AppendLine("MultiheadAttention's (L,N,E), (L,N·heads,d) and (N·heads,L,d)), move no data: the result is a view that records");
        text.AppendLine("where each axis is stored. Reshape, Transpose, Shape (k·N entries), Identity, element-wise ops with a constant,");
        text.AppendLine("Dropout, MatMul by a constant and Gemm (row by row, the rows in stored order), Slice and Gather of one stored axis");
        text.AppendLine("and Softmax over the last axis read such a view; a MatMul of two views whose first axis holds the batch runs on our");
        text.AppendLine("(N,k·…,M,K) tensors, a Permute putting their axes in order where needed (ViT's and Swin's attention). Reductions");
        text.AppendLine("over axes that do not hold the batch run on the stored tensor, as do element-wise ops of two views stored alike and");
        text.AppendLine("a Concat of such views along one stored axis; LayerNormalization runs on the rows of its normalized axes (a Permute");
        text.AppendLine("only where they are not stored last, in order): sequence-first (L,N,E) code. Any other op on such a view (Pad");
        text.AppendLine("included) is an error naming the node.");
        text.AppendLine();
        text.AppendLine("Expand, Equal, Not, Where, Mod, Range and ScatterND are shape and mask bookkeeping: folded on constants only (NumPy");
        text.AppendLine("broadcasting). The symbolic batch size in a shape (and its multiples k·N) equals itself and no size below 1, passes");
        text.AppendLine("through Where, and through Mul and Div where the result is again k·N; where a result would depend on its value");
        text.AppendLine("(Add of it, Mod or Range of it, Equal with a positive size), and on any tensor computed from the input, these ops");
        text.AppendLine("are an error naming the node. Expand of a constant to a shape that starts with the batch size repeats it per item:");
        text.AppendLine("a BatchExpand layer (ViT's class token), learnable where the constant is a weight of the file.");
        text.AppendLine();
        text.AppendLine("| ONNX op | Import | CPU | GL | Export | Opsets tested | Models |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (string op in supported.Keys.Union(exported.Ops).Order(StringComparer.Ordinal))
        {
            var entry = supported.GetValueOrDefault(op);
            string how = (entry?.IsLayer ?? false, entry?.IsFolded ?? false) switch
            {
                (true, true) => "layer, folded",
                (true, false) => "layer",
                (false, true) => "folded",
                _ => "—",
            };
            string run = (entry?.IsLayer ?? false) && imported.Contains(op) ? "✓" : "—";
            string export = exported.Contains(op) ? "✓" : "—";
            text.AppendLine($"| {op} | {how} | {run} | {run} | {export} | {imported.Opsets(op)} | {imported.ModelCount(op)} |");
        }
        return text.ToString();
    }

    /// <summary>The checkout this test was compiled from (the build output may live elsewhere, see NEURO_BUILD_DIR).</summary>
    static string RepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        for (var dir = new FileInfo(sourceFile).Directory; dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NeuroPlugin.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no NeuroPlugin.sln above {sourceFile}");
    }
}
