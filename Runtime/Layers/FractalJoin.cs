using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>
/// FractalNet's join (Larsson et al., 2016) with drop-path: the element-wise mean of the inputs that survive,
/// <c>y = (1/|K|)·Σ_{i∈K} xᵢ</c>, all inputs of one shape; backward adds <c>dy/|K|</c> to each surviving input.
/// Input i comes from fractal column <c>Columns[i]</c> (0 = the shallowest of <see cref="ColumnCount"/> columns).
/// <para>In eval mode K is every input. In training mode each step (one mini-batch) is, with probability
/// <see cref="GlobalFraction"/>, a <i>global</i> step: one column c is drawn for the whole network and every join keeps
/// only its input from column c (a join column c does not pass through keeps all its inputs: its output is not used,
/// since the later joins drop it). Otherwise it is a <i>local</i> step: each join drops each input with probability
/// <see cref="LocalDropProbability"/>, keeping one drawn at random if none survive. The draws are
/// <see cref="CounterRandom"/> numbers of (seed, step): the global ones on a stream shared by every join, the local
/// ones on the node's stream. They are computed on the host, so no kernel is needed, nothing is read back, and both
/// backends make the same choice; backward recomputes them.</para>
/// </summary>
public sealed class FractalJoin : Layer
{
    /// <summary>The stream of the global draws (column choice), shared by every join of a network.</summary>
    public const uint GlobalStream = 0xF4AC7A15;

    /// <param name="columns">The column of each input (one per input, at least two inputs).</param>
    /// <param name="columnCount">Columns C of the fractal; every entry of <paramref name="columns"/> is in [0, C).</param>
    /// <param name="localDropProbability">Probability of dropping an input in a local step, in [0, 1) (the paper's 0.15).</param>
    /// <param name="globalFraction">Probability that a step is global, in [0, 1] (the paper's 0.5).</param>
    public FractalJoin(IReadOnlyList<int> columns, int columnCount, float localDropProbability = 0.15f, float globalFraction = 0.5f)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count < 2) throw new ArgumentOutOfRangeException(nameof(columns), columns.Count, "FractalJoin needs at least 2 inputs");
        if (columnCount < 1) throw new ArgumentOutOfRangeException(nameof(columnCount), columnCount, "FractalJoin: columnCount must be positive");
        foreach (int c in columns)
            if (c < 0 || c >= columnCount)
                throw new ArgumentOutOfRangeException(nameof(columns), c, $"FractalJoin: every column must be in [0, {columnCount})");
        if (!(localDropProbability >= 0f && localDropProbability < 1f))
            throw new ArgumentOutOfRangeException(nameof(localDropProbability), localDropProbability, "FractalJoin: localDropProbability must be in [0, 1)");
        if (!(globalFraction >= 0f && globalFraction <= 1f))
            throw new ArgumentOutOfRangeException(nameof(globalFraction), globalFraction, "FractalJoin: globalFraction must be in [0, 1]");
        Columns = [.. columns];
        ColumnCount = columnCount;
        LocalDropProbability = localDropProbability;
        GlobalFraction = globalFraction;
    }

    public IReadOnlyList<int> Columns { get; }
    public int ColumnCount { get; }
    public float LocalDropProbability { get; }
    public float GlobalFraction { get; }
    public override string Type => "FractalJoin";
    public override int InputCount => Columns.Count;

    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        for (int i = 1; i < inputs.Length; i++)
            if (inputs[i] != inputs[0])
                throw new ShapeException($"{node}: FractalJoin needs equal shapes, input 0 is {inputs[0]} and input {i} is {inputs[i]}");
        return inputs[0];
    }

    /// <summary>
    /// Which inputs survive at this step (see the class summary); returns how many. Public so tests and tools can
    /// replay a step's choice.
    /// </summary>
    public int SelectInputs(bool training, uint seed, uint step, uint stream, Span<bool> keep)
    {
        int count = Columns.Count;
        if (!training)
        {
            keep[..count].Fill(true);
            return count;
        }
        if (CounterRandom.Uniform(seed, GlobalStream, step, 0) < GlobalFraction)
        {
            int column = Math.Min(ColumnCount - 1, (int)(CounterRandom.Uniform(seed, GlobalStream, step, 1) * ColumnCount));
            int kept = 0;
            for (int i = 0; i < count; i++) kept += (keep[i] = Columns[i] == column) ? 1 : 0;
            if (kept > 0) return kept;
            keep[..count].Fill(true); // column c does not pass here; the output is unused this step
            return count;
        }
        int survivors = 0;
        for (int i = 0; i < count; i++) survivors += (keep[i] = CounterRandom.Uniform(seed, stream, step, i) >= LocalDropProbability) ? 1 : 0;
        if (survivors > 0) return survivors;
        keep[Math.Min(count - 1, (int)(CounterRandom.Uniform(seed, stream, step, count) * count))] = true;
        return 1;
    }

    public override void Forward(IBackend backend, NodeTensors t)
    {
        Span<bool> keep = stackalloc bool[Columns.Count];
        float scale = 1f / SelectInputs(t.Training, t.Seed, t.Step, t.Stream, keep);
        backend.Fill(t.Output, 0f);
        for (int i = 0; i < t.Inputs.Length; i++)
            if (keep[i]) backend.Accumulate(t.Inputs[i], t.Output, scale);
    }

    public override void Backward(IBackend backend, NodeTensors t)
    {
        // in the forward pass this was y = (1/|K|)·Σ_{i∈K} xᵢ, with K drawn again from the same (seed, step)
        Span<bool> keep = stackalloc bool[Columns.Count];
        float scale = 1f / SelectInputs(t.Training, t.Seed, t.Step, t.Stream, keep);
        for (int i = 0; i < t.InputGrads.Length; i++)
            if (keep[i] && t.InputGrads[i] is { } dx) backend.Accumulate(t.Gradient, dx, scale);
    }

    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => (long)output.ItemLength * inputs.Length;

    public override JsonObject Attributes() => new()
    {
        ["columns"] = new JsonArray([.. Columns.Select(c => (JsonNode)c)]),
        ["columnCount"] = ColumnCount,
        ["localDropProbability"] = LocalDropProbability,
        ["globalFraction"] = GlobalFraction,
    };
}
