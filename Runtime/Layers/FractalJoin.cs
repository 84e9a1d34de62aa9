using System.Buffers;

namespace NeuroPlugin.Layers;

/// <summary>
/// FractalNet's join (Larsson et al., 2016) with drop-path: per sample n, the element-wise mean of the inputs that
/// survive, <c>y[n] = (1/|Kₙ|)·Σ_{i∈Kₙ} xᵢ[n]</c>, all inputs of one shape (N,…); backward adds <c>dy[n]/|Kₙ|</c> to each
/// surviving input of sample n. Input i comes from fractal column <c>Columns[i]</c> (0 = the shallowest of
/// <see cref="ColumnCount"/> columns).
/// <para>In eval mode Kₙ is every input. In training mode each step (one mini-batch) is, with probability
/// <see cref="GlobalFraction"/>, a <i>global</i> step: one column c is drawn for the whole network and batch, and every
/// join keeps only its input from column c (a join column c does not pass through keeps all its inputs: its output is
/// not used, since the later joins drop it). Otherwise it is a <i>local</i> step: each sample of each join drops each
/// input independently with probability <see cref="LocalDropProbability"/>, keeping one drawn at random if none survive.</para>
/// <para>Random numbers (<see cref="CounterRandom.Uniform"/> of (seed, stream, step, index)): the step kind is index 0 and
/// the global column index 1 of the stream <see cref="GlobalStream"/>, shared by every join; with k inputs, sample n's
/// local draws are indices <c>n·(k+1) + i</c> (input i survives when it is ≥ p) and <c>n·(k+1) + k</c> (which input
/// to keep if none did) of the node's stream. They are drawn on the host into a coefficient workspace (N,k) holding
/// <c>[i∈Kₙ]/|Kₙ|</c>, uploaded once per forward (no readback; a pooled buffer, so no allocation after the first step);
/// the device kernels only scale (<see cref="IBackend.AccumulatePerSample"/>), so both backends use identical choices.</para>
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
        this.columns = [.. columns];
        ColumnCount = columnCount;
        LocalDropProbability = localDropProbability;
        GlobalFraction = globalFraction;
    }

    readonly int[] columns;

    /// <summary>The fractal column of each input, in input order (0 = the shallowest); a global step keeps the inputs whose column was drawn.</summary>
    public IReadOnlyList<int> Columns => columns;
    /// <summary>C, the fractal's column count; global steps draw a column uniformly from [0, C).</summary>
    public int ColumnCount { get; }
    /// <summary>p, the chance that a local step drops one input of one sample, in [0, 1) (the paper's 0.15).</summary>
    public float LocalDropProbability { get; }
    /// <summary>The chance that a training step is global (one column for the whole network), in [0, 1] (the paper's 0.5).</summary>
    public float GlobalFraction { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<FractalJoin>("FractalJoin", LayerGroup.Merge,
        "FractalNet's join: the mean of the inputs that survive drop-path (input i from fractal column columns[i])", LayerDescriptor.AnyInputCount, d =>
        {
            var columns = d.VariableInts("columns", l => l.columns, 2, [0, 1], AttributeBounds.AtLeast(0));
            var columnCount = d.Int("columnCount", l => l.ColumnCount, 2, AttributeBounds.AtLeast(1));
            var localDropProbability = d.Float("localDropProbability", l => l.LocalDropProbability, 0.15f, AttributeBounds.Probability);
            var globalFraction = d.Float("globalFraction", l => l.GlobalFraction, 0.5f, AttributeBounds.Between(0, 1));
            return d.Build(a => new FractalJoin(columns.Read(a), columnCount.Read(a), localDropProbability.Read(a), globalFraction.Read(a)),
                OnnxMapping.Same("Mean"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override int InputCount => Columns.Count;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        for (int i = 1; i < inputs.Length; i++)
            if (inputs[i] != inputs[0])
                throw new ShapeException($"{node}: FractalJoin needs equal shapes, input 0 is {inputs[0]} and input {i} is {inputs[i]}");
        return inputs[0];
    }

    /// <summary>The coefficients (N,k) = <c>[i∈Kₙ]/|Kₙ|</c> per sample and input.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [new TensorShape(output.N, columns.Length)];

    /// <summary>The column a global training step keeps for the whole network, or null in a local step and in eval.</summary>
    public int? GlobalColumn(bool training, uint seed, uint step) =>
        training && CounterRandom.Uniform(seed, GlobalStream, step, 0) < GlobalFraction
            ? Math.Min(ColumnCount - 1, (int)(CounterRandom.Uniform(seed, GlobalStream, step, 1) * ColumnCount))
            : null;

    /// <summary>
    /// Fills <paramref name="coefficients"/> (N·k, row n = sample n) with <c>[i∈Kₙ]/|Kₙ|</c> for a step, as a forward
    /// pass does (see the class summary). Public so tests and tools can replay a step's choice.
    /// </summary>
    public void DrawCoefficients(bool training, uint seed, uint stream, uint step, Span<float> coefficients)
    {
        int count = columns.Length, batch = coefficients.Length / count;
        int? column = GlobalColumn(training, seed, step);
        for (int n = 0; n < batch; n++)
        {
            var row = coefficients.Slice(n * count, count);
            int kept = 0;
            for (int i = 0; i < count; i++)
            {
                bool keep = column is { } c ? Contributes(i, c)
                    : !training || CounterRandom.Uniform(seed, stream, step, n * (count + 1) + i) >= LocalDropProbability;
                row[i] = keep ? 1f : 0f;
                kept += keep ? 1 : 0;
            }
            if (kept == 0)
            {
                row[Math.Min(count - 1, (int)(CounterRandom.Uniform(seed, stream, step, n * (count + 1) + count) * count))] = 1f;
                kept = 1;
            }
            float scale = 1f / kept;
            for (int i = 0; i < count; i++) row[i] *= scale;
        }
    }

    /// <summary>Whether input i survives a global step that keeps <paramref name="column"/>: it comes from that column,
    /// or no input does (the join is off the kept path and keeps everything).</summary>
    bool Contributes(int i, int column) => columns[i] == column || Array.IndexOf(columns, column) < 0;

    /// <summary>Whether input i can have a non-zero coefficient for some sample at this step (global steps skip the rest).</summary>
    bool MayContribute(int i, NodeTensors t) => GlobalColumn(t.Training, t.Seed, t.RandomCounter) is not { } column || Contributes(i, column);

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var coefficients = t.Workspace[0];
        float[] values = ArrayPool<float>.Shared.Rent(coefficients.Length);
        DrawCoefficients(t.Training, t.Seed, t.Stream, t.RandomCounter, values.AsSpan(0, coefficients.Length));
        coefficients.Upload(values.AsSpan(0, coefficients.Length));
        ArrayPool<float>.Shared.Return(values);

        backend.Fill(t.Output, 0f);
        for (int i = 0; i < t.Inputs.Length; i++)
            if (MayContribute(i, t)) backend.AccumulatePerSample(t.Inputs[i], coefficients, i, t.Output);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        // in the forward pass this was y[n] = Σᵢ c[n,i]·xᵢ[n] with c[n,i] = [i∈Kₙ]/|Kₙ| (the workspace), so dxᵢ[n] += c[n,i]·dy[n]
        for (int i = 0; i < t.InputGrads.Length; i++)
            if (t.InputGrads[i] is { } dx && MayContribute(i, t)) backend.AccumulatePerSample(t.Gradient, t.Workspace[0], i, dx);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => (long)output.ItemLength * inputs.Length;
}
