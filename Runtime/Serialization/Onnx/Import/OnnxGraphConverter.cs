namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Converts one ONNX graph to a <see cref="Graph.NetworkGraph"/>, node by node in file order. Every ONNX value is
/// either a constant (initializers, Constant nodes, shapes), and an op whose inputs are all constants folds at import
/// time, or a tensor of our graph seen through an ONNX shape (<see cref="LiveTensor"/>). Each node goes to its op's
/// converter in <see cref="OnnxOperators"/>; <see cref="ImportGraph"/> keeps the values and the layers, which stay open
/// until the end so that a constant Add/Sub/Mul/Div right after a Conv, Gemm, MatMul or BatchNormalization folds into
/// its weights.
/// </summary>
internal sealed class OnnxGraphConverter(ModelProto model, string? folder, string source)
{
    readonly GraphProto graph = model.Graph ?? throw new OnnxFormatException(source, "the model has no graph");

    public ImportedModel Convert()
    {
        long opset = Opset();
        if (model.FunctionCount > 0) throw new OnnxUnsupportedException(source, "(model)", "FunctionProto", opset, "model-local functions are not supported");
        if (graph.SparseInitializerCount > 0) throw new OnnxUnsupportedException(source, "(graph)", "sparse_initializer", opset, "sparse initializers are not supported");
        var imported = new ImportGraph(source, folder, opset);
        foreach (var initializer in graph.Initializer) imported.AddInitializer(initializer);
        foreach (var input in graph.Input)
            if (!imported.IsDefined(input.Name)) imported.AddInput(input); // older files also list initializers as inputs
        if (!imported.HasInputs) throw new OnnxFormatException(source, "the graph has no runtime input");
        imported.CountUses(graph);

        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = new OnnxNodeReader(graph.Node[i], i, opset, source);
            if (node.Proto.Domain is not ("" or "ai.onnx"))
                throw node.Unsupported($"domain '{node.Proto.Domain}' is not supported (only ai.onnx)");
            if (node.Proto.Output.Count == 0 || node.Proto.Output[0].Length == 0) throw node.Malformed("has no output");
            OnnxValue result;
            try
            {
                result = ConvertNode(imported, node);
            }
            catch (Exception e) when (e is ShapeException or ArgumentOutOfRangeException)
            {
                // a layer's own validation: sizes or windows it cannot represent (an empty resize, a kernel larger
                // than its padding allows), attribute values it refuses (a LeakyReLU slope of −∞)
                throw node.Unsupported(e.Message);
            }
            node.CheckAllAttributesRead();
            imported.Define(node, result);
        }

        if (graph.Output.Count != 1)
            throw new OnnxUnsupportedException(source, "(graph)", "output", opset, $"the graph has {graph.Output.Count} outputs; exactly one is supported");
        return imported.Build(graph.Output[0].Name);
    }

    /// <summary>Dispatches <paramref name="n"/> through <see cref="OnnxOperators"/>: folded when its op folds and every
    /// input is a constant (or the op is only ever folded, as Constant), else converted over tensors of our graph.</summary>
    static OnnxValue ConvertNode(ImportGraph imported, OnnxNodeReader n)
    {
        var op = OnnxOperators.Find(n.Op) ?? throw n.Unsupported($"op '{n.Op}' is not supported (supported ops: {OnnxOperators.Names})");
        bool fold = !op.IsLayer || (n.InputCount > 0 && imported.AllInputsConstant(n));
        if (!fold) return op.Convert!(imported, n);
        return op.Fold?.Invoke(imported, n)
            ?? throw n.Unsupported($"op '{n.Op}' on constants is not supported (it is imported as a layer, which needs a tensor computed from the graph input)");
    }

    long Opset()
    {
        long? version = null;
        foreach (var set in model.OpsetImport)
            if (set.Domain is "" or "ai.onnx") version = set.Version;
        if (version is null) throw new OnnxFormatException(source, "opset_import has no ai.onnx entry");
        if (version < OnnxImporter.MinOpset || version > OnnxImporter.MaxOpset)
            throw new OnnxUnsupportedException(source, "(model)", "opset_import", version.Value,
                $"ai.onnx opset {version} is not supported (opsets {OnnxImporter.MinOpset} to {OnnxImporter.MaxOpset} are)");
        return version.Value;
    }
}
