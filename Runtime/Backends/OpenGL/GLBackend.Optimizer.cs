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

    /// <summary>optimizers.comp's rule variants, in <see cref="UpdateVariant"/>'s order; each also with MULTI_TENSOR.</summary>
    static readonly string[] UpdateVariants = ["SGD", "SGD;MOMENTUM", "ADAGRAD", "RMSPROP", "RMSPROP;MOMENTUM", "ADAM"];
    static readonly string[] MultiTensorUpdateVariants = UpdateVariants.Select(v => v + ";MULTI_TENSOR").ToArray();
    readonly ComputeProgram?[] updatePrograms = new ComputeProgram?[UpdateVariants.Length];
    readonly ComputeProgram?[] multiTensorUpdatePrograms = new ComputeProgram?[UpdateVariants.Length];

    /// <summary>Columns of a row of the multi-tensor table (optimizers.comp's Segment): first vec4 of the dispatch, where w,
    /// g, the first and the second state start (vec4s), λ.</summary>
    const int SegmentColumns = 6;
    /// <summary>Whole numbers in the table are floats, exact below 2²⁴.</summary>
    const int MaxTableValue = 1 << 24;
    Tensor? segmentTable;                         // the table of the last multi-tensor update
    Tensor?[] segmentTensors = [];                 // what it was made for: per parameter w, g, state 0, state 1 (or null)
    float[] segmentDecays = [];
    int segmentVectors;                           // vec4s the table covers

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
        var table = SegmentTable(parameters, gradients, state, states, weightDecays);
        int variant = UpdateVariant(rule.Kind, rule.Momentum > 0f);
        var program = Program(ref multiTensorUpdatePrograms[variant], "optimizers.comp", MultiTensorUpdateVariants[variant]);
        // the whole buffers: the kernel touches each parameter's range and nothing between them
        Bind(Input0, StorageOf(gradients[0]).Buffer);
        Bind(Output0, StorageOf(parameters[0]).Buffer);
        if (states > 0) Bind(Output1, StorageOf(state[0][0]).Buffer);
        if (states > 1) Bind(Output2, StorageOf(state[0][1]).Buffer);
        Bind(Input1, table);
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
            if (common!.Length >= MaxTableValue || buffers[..role].Contains(common.Handle)) return false;
            buffers[role] = common.Handle;
        }
        return true;
    }

    /// <summary>The table of ranges for these tensors and decays: the last one made when they are the same (no allocation, no
    /// upload), otherwise a new one, uploaded (made once per optimizer in a training run).</summary>
    Tensor SegmentTable(ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state, int states,
        ReadOnlySpan<float> weightDecays)
    {
        int n = parameters.Length;
        if (segmentTable is not null && !segmentTable.IsDisposed && SameSegments(parameters, gradients, state, states, weightDecays)) return segmentTable;
        var rows = new float[n * SegmentColumns];
        var tensors = new Tensor?[n * 4];
        int first = 0;
        for (int i = 0; i < n; i++)
        {
            var row = rows.AsSpan(i * SegmentColumns, SegmentColumns);
            row[0] = first;
            row[1] = StorageOf(parameters[i]).Offset / VectorWidth;
            row[2] = StorageOf(gradients[i]).Offset / VectorWidth;
            row[3] = states > 0 ? StorageOf(state[i][0]).Offset / VectorWidth : 0;
            row[4] = states > 1 ? StorageOf(state[i][1]).Offset / VectorWidth : 0;
            row[5] = weightDecays[i];
            (tensors[4 * i], tensors[4 * i + 1]) = (parameters[i], gradients[i]);
            tensors[4 * i + 2] = states > 0 ? state[i][0] : null;
            tensors[4 * i + 3] = states > 1 ? state[i][1] : null;
            first += DivideRoundingUp(parameters[i].Length, VectorWidth);
        }
        segmentTable?.Dispose();
        segmentTable = Allocate(new TensorShape(rows.Length), "update segments");
        segmentTable.Upload(rows);
        (segmentTensors, segmentDecays, segmentVectors) = (tensors, weightDecays.ToArray(), first);
        return segmentTable;
    }

    bool SameSegments(ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state, int states, ReadOnlySpan<float> weightDecays)
    {
        int n = parameters.Length;
        if (segmentTensors.Length != 4 * n || !weightDecays.SequenceEqual(segmentDecays)) return false;
        for (int i = 0; i < n; i++)
            if (!ReferenceEquals(segmentTensors[4 * i], parameters[i]) || !ReferenceEquals(segmentTensors[4 * i + 1], gradients[i])
                || !ReferenceEquals(segmentTensors[4 * i + 2], states > 0 ? state[i][0] : null)
                || !ReferenceEquals(segmentTensors[4 * i + 3], states > 1 ? state[i][1] : null))
                return false;
        return true;
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
}
