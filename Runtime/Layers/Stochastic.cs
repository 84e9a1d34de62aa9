using System.Buffers;

namespace NeuroPlugin.Layers;

/// <summary>
/// A residual join whose branches are scaled by random numbers drawn once per sample: inputs are the branches
/// F₁ (and F₂) then the identity x, all of one shape (N,…); <c>y = x + c₁[n]·F₁ + c₂[n]·F₂</c> forward and
/// <c>dx += dy</c>, <c>dFⱼ += c′ⱼ[n]·dy</c> backward, where the backward coefficients c′ may differ from the forward
/// ones (Shake-Shake, ShakeDrop). Subclasses say how (c₁, c₂, c′₁, c′₂) follow from four uniform numbers.
/// <para>Random numbers: sample n uses the four uniforms <c>CounterRandom.Uniform(seed, stream, step, 4n + k)</c>,
/// k = 0…3, i.e. one Philox call <c>(n, step, 0, 0)</c> under <c>(seed, node stream)</c>. They are drawn on the host,
/// written into a coefficient workspace (N,4) = (c₁, c₂, c′₁, c′₂) by one small upload per forward (no readback, no
/// managed allocation: a stack buffer, or a pooled one past 256 samples), so both backends use identical values;
/// the device kernels only scale (<see cref="IBackend.AccumulatePerSample"/>).</para>
/// </summary>
public abstract class PerSampleResidual : Layer
{
    const int Width = 4, StackSamples = 256;

    /// <summary>Number of residual branches (1 or 2): every input but the identity, which is the last.</summary>
    int BranchCount => InputCount - 1;

    /// <summary>The coefficients of one sample, <c>(c₁, c₂, c′₁, c′₂)</c> from four uniforms in [0, 1) in training, or
    /// the eval (expected) values; c₂, c′₂ are ignored with one branch.</summary>
    public abstract (float Forward1, float Forward2, float Backward1, float Backward2) Coefficients(bool training, float u0, float u1, float u2, float u3);

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        for (int i = 0; i < inputs.Length - 1; i++)
            if (inputs[i] != inputs[^1])
                throw new ShapeException($"{node}: {Type} needs the branch and the identity of one shape, branch {i} is {inputs[i]} and the identity is {inputs[^1]}");
        return inputs[^1];
    }

    /// <summary>The coefficients (N,4) = (c₁, c₂, c′₁, c′₂) per sample.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [new TensorShape(output.N, Width)];

    /// <summary>Fills <paramref name="coefficients"/> (N·4) for a step, as a forward pass does (public so tests replay draws).</summary>
    public void DrawCoefficients(bool training, uint seed, uint stream, uint step, Span<float> coefficients)
    {
        for (int n = 0; n < coefficients.Length / Width; n++)
        {
            float u0 = 0, u1 = 0, u2 = 0, u3 = 0;
            if (training)
            {
                var bits = CounterRandom.Philox4x32(((uint)n, step, 0, 0), (seed, stream));
                (u0, u1, u2, u3) = (CounterRandom.ToUniform(bits.X), CounterRandom.ToUniform(bits.Y), CounterRandom.ToUniform(bits.Z), CounterRandom.ToUniform(bits.W));
            }
            var c = Coefficients(training, u0, u1, u2, u3);
            coefficients[n * Width] = c.Forward1;
            coefficients[n * Width + 1] = c.Forward2;
            coefficients[n * Width + 2] = c.Backward1;
            coefficients[n * Width + 3] = c.Backward2;
        }
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var coefficients = t.Workspace[0];
        float[]? rented = null;
        Span<float> values = coefficients.Length <= StackSamples * Width
            ? stackalloc float[StackSamples * Width]
            : rented = ArrayPool<float>.Shared.Rent(coefficients.Length);
        values = values[..coefficients.Length];
        DrawCoefficients(t.Training, t.Seed, t.Stream, t.RandomCounter, values);
        coefficients.Upload(values);
        if (rented is not null) ArrayPool<float>.Shared.Return(rented);

        backend.Copy(t.Inputs[^1], t.Output);
        for (int j = 0; j < BranchCount; j++) backend.AccumulatePerSample(t.Inputs[j], coefficients, j, t.Output);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        // in the forward pass this was y = x + Σⱼ cⱼ[n]·Fⱼ; the backward coefficients c′ⱼ sit in columns 2 + j
        if (t.InputGrads[^1] is { } dx) backend.Accumulate(t.Gradient, dx, 1f);
        for (int j = 0; j < BranchCount; j++)
            if (t.InputGrads[j] is { } dF) backend.AccumulatePerSample(t.Gradient, t.Workspace[0], 2 + j, dF);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => (long)output.ItemLength * BranchCount;

    /// <summary>Throws unless <paramref name="value"/> lies in [0, 1) (NaN fails too).</summary>
    internal static float Probability(float value, string name, string type) =>
        value >= 0f && value < 1f ? value : throw new ArgumentOutOfRangeException(name, value, $"{type}: {name} must be in [0, 1)");
}

/// <summary>
/// Stochastic Depth (Huang et al., 2016): inputs (F(x), x), <c>y = x + b·F(x)</c> with <c>b ~ Bernoulli(1 − p)</c> per
/// sample in training (the whole branch of a sample is dropped), and <c>y = x + (1 − p)·F(x)</c> in eval (the expected
/// value). Backward: <c>dx += dy</c>, <c>dF += b·dy</c>. Shapes (N,…), all equal. b is <c>u₀ ≥ p</c>.
/// </summary>
public sealed class StochasticDepth : PerSampleResidual
{
    /// <param name="p">Probability of dropping the branch of a sample, in [0, 1) (the paper's linear rule ends at 0.5).</param>
    public StochasticDepth(float p = 0.5f) => P = Probability(p, nameof(p), "StochasticDepth");

    /// <summary>Probability of dropping the branch.</summary>
    public float P { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<StochasticDepth>("StochasticDepth", LayerGroup.Regularization,
        "inputs (F(x), x): y = x + F(x), the branch dropped for a whole sample with probability p in training", inputs: 2, d =>
        {
            var p = d.Float("p", l => l.P, 0.5f, AttributeBounds.Probability);
            return d.Build(a => new StochasticDepth(p.Read(a)), OnnxMapping.ExportOnly("Mul", "Add"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override (float Forward1, float Forward2, float Backward1, float Backward2) Coefficients(bool training, float u0, float u1, float u2, float u3)
    {
        float b = training ? (u0 >= P ? 1f : 0f) : 1f - P;
        return (b, 0f, b, 0f);
    }
}

/// <summary>
/// Shake-Shake (Gastaldi, 2017), "Shake-Shake-Image": inputs (F₁(x), F₂(x), x), forward <c>y = x + α·F₁ + (1 − α)·F₂</c>
/// with <c>α ~ U(0,1)</c> per sample, backward with an independent <c>β ~ U(0,1)</c>: <c>dF₁ += β·dy</c>,
/// <c>dF₂ += (1 − β)·dy</c>, <c>dx += dy</c>. Eval: α = β = 0.5. Shapes (N,…), all equal. α is u₀, β is u₁.
/// </summary>
public sealed class ShakeShake : PerSampleResidual
{
    internal static LayerDescriptor Definition { get; } =
        new LayerDescriptorBuilder<ShakeShake>("ShakeShake", LayerGroup.Regularization,
            "inputs (F₁(x), F₂(x), x): y = x + α·F₁ + (1 − α)·F₂, α random per sample in training and another β backward", inputs: 3)
            .Build(_ => new ShakeShake(), OnnxMapping.ExportOnly("Mul", "Sum"));

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override (float Forward1, float Forward2, float Backward1, float Backward2) Coefficients(bool training, float u0, float u1, float u2, float u3)
    {
        float alpha = training ? u0 : 0.5f, beta = training ? u1 : 0.5f;
        return (alpha, 1f - alpha, beta, 1f - beta);
    }
}

/// <summary>
/// ShakeDrop (Yamada et al., 2018): inputs (F(x), x), forward <c>y = x + (b + α − b·α)·F(x)</c> with
/// <c>b ~ Bernoulli(1 − p)</c>, <c>α ~ U(αₗ, αₕ)</c> per sample; backward <c>dF += (b + β − b·β)·dy</c> with an
/// independent <c>β ~ U(βₗ, βₕ)</c>, <c>dx += dy</c>. Eval: the expectation <c>E[b + α − b·α] = (1 − p) + p·E[α]</c>, which
/// is the paper's <c>1 − p</c> for the default α range [−1, 1]. Shapes (N,…), all equal. b is <c>u₀ ≥ p</c>, α from u₁,
/// β from u₂.
/// </summary>
public sealed class ShakeDrop : PerSampleResidual
{
    /// <param name="p">Probability b = 0 (the branch is shaken), in [0, 1) (the paper's linear rule ends at 0.5).</param>
    /// <param name="alphaLow">Lower end of α's range (−1).</param>
    /// <param name="alphaHigh">Upper end of α's range (1), at least <paramref name="alphaLow"/>.</param>
    /// <param name="betaLow">Lower end of β's range (0).</param>
    /// <param name="betaHigh">Upper end of β's range (1), at least <paramref name="betaLow"/>.</param>
    public ShakeDrop(float p = 0.5f, float alphaLow = -1f, float alphaHigh = 1f, float betaLow = 0f, float betaHigh = 1f)
    {
        P = Probability(p, nameof(p), "ShakeDrop");
        if (!float.IsFinite(alphaLow)) throw new ArgumentOutOfRangeException(nameof(alphaLow), alphaLow, "ShakeDrop: alphaLow must be finite");
        if (!(float.IsFinite(alphaHigh) && alphaHigh >= alphaLow))
            throw new ArgumentOutOfRangeException(nameof(alphaHigh), alphaHigh, $"ShakeDrop: alphaHigh must be finite and at least alphaLow ({alphaLow})");
        if (!float.IsFinite(betaLow)) throw new ArgumentOutOfRangeException(nameof(betaLow), betaLow, "ShakeDrop: betaLow must be finite");
        if (!(float.IsFinite(betaHigh) && betaHigh >= betaLow))
            throw new ArgumentOutOfRangeException(nameof(betaHigh), betaHigh, $"ShakeDrop: betaHigh must be finite and at least betaLow ({betaLow})");
        (AlphaLow, AlphaHigh, BetaLow, BetaHigh) = (alphaLow, alphaHigh, betaLow, betaHigh);
    }

    /// <summary>p, the probability that b = 0 and the branch is scaled by α (forward) and β (backward), in [0, 1).</summary>
    public float P { get; }
    /// <summary>αₗ, lower end of the forward scale α ~ U(αₗ, αₕ) (default −1).</summary>
    public float AlphaLow { get; }
    /// <summary>αₕ, upper end of α's range, ≥ αₗ (default 1).</summary>
    public float AlphaHigh { get; }
    /// <summary>βₗ, lower end of the backward scale β ~ U(βₗ, βₕ) (default 0).</summary>
    public float BetaLow { get; }
    /// <summary>βₕ, upper end of β's range, ≥ βₗ (default 1).</summary>
    public float BetaHigh { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<ShakeDrop>("ShakeDrop", LayerGroup.Regularization,
        "inputs (F(x), x): y = x + F(x), the branch scaled by a random α in [alphaLow, alphaHigh] with probability p in training", inputs: 2, d =>
        {
            var p = d.Float("p", l => l.P, 0.5f, AttributeBounds.Probability);
            var alphaLow = d.Float("alphaLow", l => l.AlphaLow, -1f);
            var alphaHigh = d.Float("alphaHigh", l => l.AlphaHigh, 1f);
            var betaLow = d.Float("betaLow", l => l.BetaLow, 0f);
            var betaHigh = d.Float("betaHigh", l => l.BetaHigh, 1f);
            return d.Build(a => new ShakeDrop(p.Read(a), alphaLow.Read(a), alphaHigh.Read(a), betaLow.Read(a), betaHigh.Read(a)),
                OnnxMapping.ExportOnly("Mul", "Add"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override (float Forward1, float Forward2, float Backward1, float Backward2) Coefficients(bool training, float u0, float u1, float u2, float u3)
    {
        if (!training)
        {
            float expected = (1f - P) + P * 0.5f * (AlphaLow + AlphaHigh);
            return (expected, 0f, expected, 0f);
        }
        // b + α − b·α is 1 when b = 1 and α when b = 0; written as the choice so a kept branch gets exactly 1
        bool kept = u0 >= P;
        float alpha = AlphaLow + (AlphaHigh - AlphaLow) * u1, beta = BetaLow + (BetaHigh - BetaLow) * u2;
        return kept ? (1f, 0f, 1f, 0f) : (alpha, 0f, beta, 0f);
    }
}

/// <summary>
/// Swapout (Singh, Hoiem, Forsyth, 2016): inputs (F(x), x), <c>y = θ₁⊙x + θ₂⊙F(x)</c> with independent per-unit masks
/// <c>θ₁ ~ Bernoulli(1 − p₁)</c>, <c>θ₂ ~ Bernoulli(1 − p₂)</c> in training (a unit may keep x, F(x), both or neither:
/// dropout, stochastic depth and plain residuals are special cases); eval uses the expectations
/// <c>y = (1 − p₁)·x + (1 − p₂)·F(x)</c> (the paper's deterministic inference). Backward: <c>dx += θ₁⊙dy</c>,
/// <c>dF += θ₂⊙dy</c>. Shapes (N,…), all equal. The masks are drawn on the device (<see cref="IBackend.SwapoutForward"/>)
/// and saved as two workspaces of the output's shape.
/// </summary>
public sealed class Swapout : Layer
{
    /// <param name="identityDropProbability">p₁, probability of dropping a unit of the identity x, in [0, 1).</param>
    /// <param name="branchDropProbability">p₂, probability of dropping a unit of the branch F(x), in [0, 1).</param>
    public Swapout(float identityDropProbability = 0.5f, float branchDropProbability = 0.5f)
    {
        IdentityDropProbability = PerSampleResidual.Probability(identityDropProbability, nameof(identityDropProbability), "Swapout");
        BranchDropProbability = PerSampleResidual.Probability(branchDropProbability, nameof(branchDropProbability), "Swapout");
    }

    /// <summary>p₁, the probability that a unit drops the identity x (θ₁ = 0) in training, in [0, 1); eval scales x by 1 − p₁.</summary>
    public float IdentityDropProbability { get; }
    /// <summary>p₂, the probability that a unit drops the branch F(x) (θ₂ = 0) in training, in [0, 1); eval scales F(x) by 1 − p₂.</summary>
    public float BranchDropProbability { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Swapout>("Swapout", LayerGroup.Regularization,
        "inputs (F(x), x): each unit keeps x with probability 1 − p₁ and F(x) with 1 − p₂ in training", inputs: 2, d =>
        {
            var identityDropProbability = d.Float("identityDropProbability", l => l.IdentityDropProbability, 0.5f, AttributeBounds.Probability);
            var branchDropProbability = d.Float("branchDropProbability", l => l.BranchDropProbability, 0.5f, AttributeBounds.Probability);
            return d.Build(a => new Swapout(identityDropProbability.Read(a), branchDropProbability.Read(a)), OnnxMapping.ExportOnly("Mul", "Add"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) =>
        inputs[0] == inputs[1] ? inputs[1]
            : throw new ShapeException($"{node}: Swapout needs the branch and the identity of one shape, the branch is {inputs[0]} and the identity is {inputs[1]}");

    /// <summary>The masks θ₁ (identity) and θ₂ (branch), shaped as the output.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [output, output];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.SwapoutForward(t.Inputs[1], t.Inputs[0], t.Output, t.Workspace[0], t.Workspace[1],
            IdentityDropProbability, BranchDropProbability, t.Training, t.Seed, t.Stream, t.RandomCounter);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        // in the forward pass this was y = θ₁⊙x + θ₂⊙F: each input's gradient is dy through its mask, as in dropout
        if (t.InputGrads[1] is { } dx) backend.DropoutBackward(t.Workspace[0], t.Gradient, dx);
        if (t.InputGrads[0] is { } dF) backend.DropoutBackward(t.Workspace[1], t.Gradient, dF);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => 2L * output.ItemLength;
}
