namespace NeuroPlugin.Backends;

/// <summary>
/// The per-tensor form of <see cref="IBackend"/>'s multi-tensor penalty, clipping and non-finite flags: the CPU's implementation (the
/// readable reference) and GL's for tensors that are not ranges of one buffer. (The update rules' is
/// <see cref="Optimizers.UpdateRule.ApplyEach"/>.)
/// </summary>
static class MultiTensor
{
    /// <summary><see cref="IBackend.AddNormPenalties"/> one tensor at a time: the penalty of <c>inputs[i]</c> into
    /// <paramref name="total"/>, its gradient into <c>inputGrads[i]</c>.</summary>
    internal static void AddNormPenaltiesEach(IBackend backend, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> inputGrads, Tensor total,
        ReadOnlySpan<float> l1, ReadOnlySpan<float> l2)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            backend.NormPenaltyForward(inputs[i], total, l1[i], l2[i]);
            backend.NormPenaltyBackward(inputs[i], inputGrads[i], l1[i], l2[i]);
        }
    }

    /// <summary><see cref="IBackend.FlagNonFiniteTensors"/> one tensor at a time: <c>inputs[i]</c> sets flag <c>indices[i]</c>.</summary>
    internal static void FlagNonFiniteEach(IBackend backend, ReadOnlySpan<Tensor> inputs, Tensor flags, ReadOnlySpan<int> indices)
    {
        CheckFlagIndices(inputs, flags, indices);
        for (int i = 0; i < inputs.Length; i++) backend.FlagNonFinite(inputs[i], flags, indices[i]);
    }

    /// <summary>Throws unless there is one flag index per tensor, each in [0, flags.Length).</summary>
    internal static void CheckFlagIndices(ReadOnlySpan<Tensor> inputs, Tensor flags, ReadOnlySpan<int> indices)
    {
        if (indices.Length != inputs.Length)
            throw new ArgumentException($"{inputs.Length} tensors but {indices.Length} flag indices", nameof(indices));
        foreach (int index in indices)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index, nameof(indices));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, flags.Length, nameof(indices));
        }
    }

    /// <summary><see cref="IBackend.ClipGradientsByTotalNorm"/> one tensor at a time: s = Σ‖g‖² over every gradient (the
    /// penalty's sum with λ₂ = 2), then each gradient scaled by what s gives.</summary>
    internal static void ClipGradientsByTotalNormEach(IBackend backend, ReadOnlySpan<Tensor> gradients, Tensor sumOfSquares, float maxNorm)
    {
        backend.Fill(sumOfSquares, 0f);
        foreach (var gradient in gradients) backend.NormPenaltyForward(gradient, sumOfSquares, 0f, 2f);
        foreach (var gradient in gradients) backend.ClipByTotalNorm(gradient, sumOfSquares, maxNorm);
    }
}
