using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Backends.OpenGL;

// Optimizer update rules (optimizers.comp), the L1/L2 penalty and gradient clipping (norm_penalty.comp).
// Everything stays on the device: hyper-parameters and Adam's bias corrections are uniforms, and clipping
// reads the total norm from a device tensor.
public sealed partial class GLBackend
{
    /// <summary>Floats summed by one invocation of the penalty's first pass, at least; more for huge tensors,
    /// so that the second pass (one invocation) adds at most <see cref="MaxPenaltySlices"/> partial sums.</summary>
    const int PenaltyChunk = 64, MaxPenaltySlices = 4096;

    ComputeProgram? normPenaltyForwardProgram, normPenaltyBackwardProgram, clipProgram;
    ComputeProgram? multiTensorPenaltySumProgram, multiTensorPenaltyGradientProgram, multiTensorClipProgram;

    /// <summary>The tables of the multi-tensor penalty and clipping (norm_penalty.comp), one row per tensor: its first slice of
    /// the sum's first pass, its first vec4 of the element-wise pass, where x and g start (vec4s), its length (floats), λ₁, λ₂.
    /// Clipping's x and g are both the gradient, with λ₁ = 0 and λ₂ = 2, so its sum is Σg².</summary>
    readonly GLSegmentTable penaltyTable = new("penalty segments", 7), clipTable = new("clip segments", 7);
    float[] clipL1 = [], clipL2 = []; // 0 and 2 per gradient, grown when a call has more gradients

    /// <summary>optimizers.comp's rule variants, in <see cref="UpdateVariant"/>'s order; each also with MULTI_TENSOR.</summary>
    static readonly string[] UpdateVariants = ["SGD", "SGD;MOMENTUM", "ADAGRAD", "RMSPROP", "RMSPROP;MOMENTUM", "ADAM"];
    static readonly string[] MultiTensorUpdateVariants = UpdateVariants.Select(v => v + ";MULTI_TENSOR").ToArray();
    readonly ComputeProgram?[] updatePrograms = new ComputeProgram?[UpdateVariants.Length];
    readonly ComputeProgram?[] multiTensorUpdatePrograms = new ComputeProgram?[UpdateVariants.Length];

    /// <summary>The multi-tensor update's table (optimizers.comp): per parameter its first vec4 of the dispatch, where w, g,
    /// the first and the second state start (vec4s), λ.</summary>
    readonly GLSegmentTable updateTable = new("update segments", 6);
    int segmentVectors;                           // vec4s the update table covers

    /// <summary>The index of a rule's variant: its kind, and whether it keeps a velocity (SGD's v, RMSProp's momentum buffer).</summary>
    static int UpdateVariant(UpdateRuleKind kind, bool velocity) => kind switch
    {
        UpdateRuleKind.Sgd => velocity ? 1 : 0,
        UpdateRuleKind.AdaGrad => 2,
        UpdateRuleKind.RmsProp => velocity ? 4 : 3,
        _ => 5,
    };

    /// <inheritdoc/>
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum, float weightDecay = 0f, bool nesterov = false) =>
        UpdateOne(new UpdateRule(UpdateRuleKind.Sgd, learningRate, momentum, nesterov), parameter, gradient, velocity, null, weightDecay);

    /// <inheritdoc/>
    public void AdaGradUpdate(Tensor parameter, Tensor gradient, Tensor sum, float learningRate, float epsilon, float weightDecay) =>
        UpdateOne(new UpdateRule(UpdateRuleKind.AdaGrad, learningRate, Epsilon: epsilon), parameter, gradient, sum, null, weightDecay);

    /// <inheritdoc/>
    public void RmsPropUpdate(Tensor parameter, Tensor gradient, Tensor squareAverage, Tensor? velocity, float learningRate, float alpha, float epsilon, float momentum, float weightDecay) =>
        UpdateOne(new UpdateRule(UpdateRuleKind.RmsProp, learningRate, momentum, Alpha: alpha, Epsilon: epsilon), parameter, gradient, squareAverage, velocity, weightDecay);

    /// <inheritdoc/>
    public void AdamUpdate(Tensor parameter, Tensor gradient, Tensor firstMoment, Tensor secondMoment, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, long step) =>
        UpdateOne(new UpdateRule(UpdateRuleKind.Adam, learningRate, Epsilon: epsilon, Beta1: beta1, Beta2: beta2, DecoupledWeightDecay: decoupledWeightDecay, Step: step),
            parameter, gradient, firstMoment, secondMoment, weightDecay);

    /// <summary>One parameter: binds w, g, its states (SGD's and RMSProp's velocity decide the variant) and the guard word,
    /// sets the rule's uniforms, runs one invocation per vec4.</summary>
    void UpdateOne(in UpdateRule rule, Tensor parameter, Tensor gradient, Tensor? state0, Tensor? state1, float weightDecay)
    {
        EnsureUsable();
        bool velocity = rule.Kind == UpdateRuleKind.Sgd ? state0 is not null : rule.Kind == UpdateRuleKind.RmsProp && state1 is not null;
        int variant = UpdateVariant(rule.Kind, velocity);
        var program = Program(ref updatePrograms[variant], "optimizers.comp", UpdateVariants[variant]);
        Bind(Input0, gradient);
        Bind(Output0, parameter);
        if (state0 is not null) Bind(Output1, state0);
        if (state1 is not null) Bind(Output2, state1);
        BindUpdateGuard();
        SetRuleUniforms(program, rule);
        bool decoupled = rule.Kind == UpdateRuleKind.Adam && rule.DecoupledWeightDecay;
        program.SetUniform("weightDecay", decoupled ? 0f : weightDecay);
        if (rule.Kind == UpdateRuleKind.Adam) program.SetUniform("shrink", decoupled ? 1f - rule.LearningRate * weightDecay : 1f);
        DispatchVectors(program, parameter.Length);
    }

    /// <inheritdoc/>
    public void UpdateParameters(in UpdateRule rule, ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state,
        ReadOnlySpan<float> weightDecays)
    {
        EnsureUsable();
        int states = rule.StateCount;
        if (parameters.Length < 2 || !SharesBuffers(parameters, states, gradients, state))
        {
            rule.ApplyEach(this, parameters, gradients, state, weightDecays);
            return;
        }
        var table = UpdateTable(parameters, gradients, state, states, weightDecays);
        int variant = UpdateVariant(rule.Kind, rule.Momentum > 0f);
        var program = Program(ref multiTensorUpdatePrograms[variant], "optimizers.comp", MultiTensorUpdateVariants[variant]);
        Bind(Input1, table); // first: binding a tensor runs the queued fills, whose kernel has bindings of its own
        // the whole buffers: the kernel touches each parameter's range and nothing between them
        Bind(Input0, StorageOf(gradients[0]).Buffer);
        Bind(Output0, StorageOf(parameters[0]).Buffer);
        if (states > 0) Bind(Output1, StorageOf(state[0][0]).Buffer);
        if (states > 1) Bind(Output2, StorageOf(state[0][1]).Buffer);
        BindUpdateGuard();
        SetRuleUniforms(program, rule);
        program.SetUniform("segmentCount", parameters.Length);
        if (rule.Kind == UpdateRuleKind.Adam) program.SetUniform("decoupled", rule.DecoupledWeightDecay ? 1 : 0);
        program.SetUniform("count", segmentVectors);
        program.Dispatch(segmentVectors, 1, 1);
    }

    /// <summary>The uniforms both paths share: the rate and the rule's hyper-parameters (Adam's bias corrections for its step).</summary>
    static void SetRuleUniforms(ComputeProgram program, in UpdateRule rule)
    {
        program.SetUniform("learningRate", rule.LearningRate);
        switch (rule.Kind)
        {
            case UpdateRuleKind.Sgd:
                program.SetUniform("momentum", rule.Momentum);
                program.SetUniform("nesterov", rule.Nesterov ? 1 : 0);
                break;
            case UpdateRuleKind.AdaGrad:
                program.SetUniform("epsilon", rule.Epsilon);
                break;
            case UpdateRuleKind.RmsProp:
                program.SetUniform("momentum", rule.Momentum);
                program.SetUniform("alpha", rule.Alpha);
                program.SetUniform("epsilon", rule.Epsilon);
                break;
            default:
                var correction = AdamCorrection.At(rule.LearningRate, rule.Beta1, rule.Beta2, rule.Step);
                program.SetUniform("beta1", rule.Beta1);
                program.SetUniform("beta2", rule.Beta2);
                program.SetUniform("epsilon", rule.Epsilon);
                program.SetUniform("stepSize", correction.StepSize);
                program.SetUniform("secondMomentScale", correction.SecondMomentScale);
                break;
        }
    }

    /// <summary>Whether the parameters, the gradients and each of the <paramref name="states"/> kinds of state are each ranges
    /// of one shared buffer (five different buffers at most), so that one kernel reaches them all, with every offset in the
    /// table's exact range.</summary>
    bool SharesBuffers(ReadOnlySpan<Tensor> parameters, int states, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state)
    {
        Span<uint> buffers = stackalloc uint[4]; // per role: w, g, first state, second state
        for (int role = 0; role < 2 + states; role++)
        {
            GLBuffer? common = null;
            for (int i = 0; i < parameters.Length; i++)
            {
                var storage = StorageOf(role == 0 ? parameters[i] : role == 1 ? gradients[i] : state[i][role - 2]);
                if (!storage.IsShared || (common is not null && !ReferenceEquals(storage.Buffer, common))) return false;
                common = storage.Buffer;
            }
            // a buffer in two roles would be written through two bindings
            if (common!.Length >= GLSegmentTable.MaxValue || buffers[..role].Contains(common.Handle)) return false;
            buffers[role] = common.Handle;
        }
        return true;
    }

    /// <summary>The update table's rows for these tensors and decays (uploaded when they changed: once per optimizer in a
    /// training run).</summary>
    Tensor UpdateTable(ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state, int states,
        ReadOnlySpan<float> weightDecays)
    {
        var rows = updateTable.Begin(parameters.Length);
        var tensors = updateTable.Tensors(4 * parameters.Length);
        int first = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            (tensors[4 * i], tensors[4 * i + 1]) = (parameters[i], gradients[i]);
            tensors[4 * i + 2] = states > 0 ? state[i][0] : null;
            tensors[4 * i + 3] = states > 1 ? state[i][1] : null;
            var row = rows.Slice(i * updateTable.Columns, updateTable.Columns);
            row[0] = first;
            row[1] = StorageOf(parameters[i]).Offset / VectorWidth;
            row[2] = StorageOf(gradients[i]).Offset / VectorWidth;
            row[3] = states > 0 ? StorageOf(state[i][0]).Offset / VectorWidth : 0;
            row[4] = states > 1 ? StorageOf(state[i][1]).Offset / VectorWidth : 0;
            row[5] = weightDecays[i];
            first += DivideRoundingUp(parameters[i].Length, VectorWidth);
        }
        segmentVectors = first;
        return updateTable.Commit(this);
    }

    /// <inheritdoc/>
    public void NormPenaltyForward(Tensor input, Tensor total, float l1, float l2)
    {
        var program = Kernel(ref normPenaltyForwardProgram, "norm_penalty.comp", "FORWARD", [input], []);
        int length = input.Length;
        int chunk = Math.Max(PenaltyChunk, DivideRoundingUp(length, MaxPenaltySlices));
        int slices = DivideRoundingUp(length, chunk);
        var partial = Scratch(slices);
        Bind(Output1, partial);
        program.SetUniform("elementCount", length);
        program.SetUniform("chunk", chunk);
        program.SetUniform("slices", slices);
        program.SetUniform("l1", l1);
        program.SetUniform("l2", l2);
        program.Dispatch(slices, 1, chunk);
        ReduceSlices(partial, slices, 1, RangeOf(total), accumulate: true);
    }

    /// <inheritdoc/>
    public void NormPenaltyBackward(Tensor input, Tensor inputGrad, float l1, float l2)
    {
        var program = Kernel(ref normPenaltyBackwardProgram, "norm_penalty.comp", "BACKWARD", [input], [inputGrad]);
        program.SetUniform("l1", l1);
        program.SetUniform("l2", l2);
        DispatchVectors(program, input.Length);
    }

    /// <inheritdoc/>
    public void ClipByTotalNorm(Tensor gradient, Tensor sumOfSquares, float maxNorm)
    {
        var program = Kernel(ref clipProgram, "norm_penalty.comp", "CLIP", [sumOfSquares], [gradient]);
        program.SetUniform("maxNorm", maxNorm);
        DispatchVectors(program, gradient.Length);
    }

    /// <inheritdoc/>
    public void AddNormPenalties(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> inputGrads, Tensor total, ReadOnlySpan<float> l1, ReadOnlySpan<float> l2)
    {
        EnsureUsable();
        if (inputs.Length < 2 || OneBuffer(inputs) is not { } x || OneBuffer(inputGrads) is not { } dx || ReferenceEquals(x, dx))
        {
            MultiTensor.AddNormPenaltiesEach(this, inputs, inputGrads, total, l1, l2);
            return;
        }
        var segments = PenaltySegments(penaltyTable, inputs, inputGrads, l1, l2);
        MultiTensorPenaltySum(x, segments, inputs.Length, total, accumulate: true);
        DispatchSegmentVectors(Program(ref multiTensorPenaltyGradientProgram, "norm_penalty.comp", "BACKWARD;MULTI_TENSOR"), segments,
            inputs.Length, x, dx);
    }

    /// <inheritdoc/>
    public void ClipGradientsByTotalNorm(ReadOnlySpan<Tensor> gradients, Tensor sumOfSquares, float maxNorm)
    {
        EnsureUsable();
        if (gradients.Length < 2 || OneBuffer(gradients) is not { } g)
        {
            MultiTensor.ClipGradientsByTotalNormEach(this, gradients, sumOfSquares, maxNorm);
            return;
        }
        if (clipL1.Length < gradients.Length)
        {
            clipL1 = new float[gradients.Length];
            clipL2 = new float[gradients.Length];
            Array.Fill(clipL2, 2f); // (λ₂/2)·Σg² = Σg²
        }
        var segments = PenaltySegments(clipTable, gradients, gradients, clipL1.AsSpan(0, gradients.Length), clipL2.AsSpan(0, gradients.Length));
        MultiTensorPenaltySum(g, segments, gradients.Length, sumOfSquares, accumulate: false);
        var program = Program(ref multiTensorClipProgram, "norm_penalty.comp", "CLIP;MULTI_TENSOR");
        program.SetUniform("maxNorm", maxNorm);
        DispatchSegmentVectors(program, segments, gradients.Length, RangeOf(sumOfSquares), g);
    }

    /// <summary>The element-wise pass of a multi-tensor penalty or clipping: the table, <paramref name="input"/> at Input0,
    /// the gradients' buffer at Output0, one invocation per vec4 of the table's tensors.</summary>
    void DispatchSegmentVectors(ComputeProgram program, in PenaltyRanges segments, int segmentCount, StorageRange input, GLBuffer gradients)
    {
        Bind(Input1, segments.Table);
        Bind(Input0, input);
        Bind(Output0, gradients);
        program.SetUniform("segmentCount", segmentCount);
        program.SetUniform("count", segments.Vectors);
        program.Dispatch(segments.Vectors, 1, 1);
    }

    /// <summary>Where a multi-tensor penalty's passes find their tensors: the table, and the sizes of both passes.</summary>
    readonly record struct PenaltyRanges(Tensor Table, int Slices, int Chunk, int Vectors);

    /// <summary>Writes <paramref name="table"/>'s rows for x = <paramref name="inputs"/>, g = <paramref name="inputGrads"/> and
    /// their λs. The sum's slices are <c>chunk</c> floats of one tensor, chunk the same for all (at least
    /// <see cref="PenaltyChunk"/>, more when the tensors hold over <see cref="MaxPenaltySlices"/> chunks).</summary>
    PenaltyRanges PenaltySegments(GLSegmentTable table, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> inputGrads,
        ReadOnlySpan<float> l1, ReadOnlySpan<float> l2)
    {
        long elements = 0;
        foreach (var input in inputs) elements += input.Length;
        int chunk = (int)Math.Max(PenaltyChunk, (elements + MaxPenaltySlices - 1) / MaxPenaltySlices);
        var rows = table.Begin(inputs.Length);
        var tensors = table.Tensors(2 * inputs.Length);
        int slices = 0, vectors = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            (tensors[2 * i], tensors[2 * i + 1]) = (inputs[i], inputGrads[i]);
            var row = rows.Slice(i * table.Columns, table.Columns);
            int length = inputs[i].Length;
            row[0] = slices;
            row[1] = vectors;
            row[2] = StorageOf(inputs[i]).Offset / VectorWidth;
            row[3] = StorageOf(inputGrads[i]).Offset / VectorWidth;
            row[4] = length;
            row[5] = l1[i];
            row[6] = l2[i];
            slices += DivideRoundingUp(length, chunk);
            vectors += DivideRoundingUp(length, VectorWidth);
        }
        return new PenaltyRanges(table.Commit(this), slices, chunk, vectors);
    }

    /// <summary>total[0] += (or, without <paramref name="accumulate"/>, =) Σ over the table's tensors of λ₁·Σ|x| + (λ₂/2)·Σx²:
    /// one invocation per slice, then the slices' sums added in order (reduce.comp).</summary>
    void MultiTensorPenaltySum(GLBuffer x, in PenaltyRanges segments, int segmentCount, Tensor total, bool accumulate)
    {
        var program = Program(ref multiTensorPenaltySumProgram, "norm_penalty.comp", "FORWARD;MULTI_TENSOR");
        Bind(Input1, segments.Table); // first: binding a tensor runs the queued fills, whose kernel has bindings of its own
        var destination = RangeOf(total);
        var partial = Scratch(segments.Slices);
        Bind(Input0, x);
        Bind(Output1, partial);
        program.SetUniform("segmentCount", segmentCount);
        program.SetUniform("chunk", segments.Chunk);
        program.SetUniform("slices", segments.Slices);
        program.Dispatch(segments.Slices, 1, segments.Chunk);
        ReduceSlices(partial, segments.Slices, 1, destination, accumulate);
    }

    /// <summary>The buffer every one of <paramref name="tensors"/> is a range of (<see cref="AllocateGroup"/>), short enough for
    /// a segment table's offsets; null when they are not all ranges of one such buffer.</summary>
    GLBuffer? OneBuffer(ReadOnlySpan<Tensor> tensors)
    {
        GLBuffer? common = null;
        foreach (var tensor in tensors)
        {
            var storage = StorageOf(tensor);
            if (!storage.IsShared || (common is not null && !ReferenceEquals(storage.Buffer, common))) return null;
            common = storage.Buffer;
        }
        return common is not null && common.Length < GLSegmentTable.MaxValue ? common : null;
    }
}
