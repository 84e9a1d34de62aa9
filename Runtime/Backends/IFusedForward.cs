namespace NeuroPlugin.Backends;

/// <summary>An eval-mode batch norm folded into the op before it: the layer's γ (<see cref="Weight"/>), β
/// (<see cref="Bias"/>), running statistics and ε, all (C).</summary>
public readonly record struct FoldedBatchNorm(Tensor Weight, Tensor Bias, Tensor RunningMean, Tensor RunningVar, float Epsilon);

/// <summary>
/// A backend that runs a convolution or a linear layer and what follows it in an inference plan as one op, so the output
/// is written once while in cache (on GL: in one dispatch) instead of being read and written again by each following layer
/// (ONNX Runtime's Conv + BatchNormalization + Add + activation and Gemm + activation fusions).
/// <see cref="Execution.ExecutionPlan.ForInference"/> uses it where the backend has it.
/// </summary>
public interface IFusedForward
{
    /// <summary>
    /// <c>y = act(bn(conv(x) + b) + r)</c>, each part optional: <see cref="IBackend.Conv2dForward"/>, then the eval-mode
    /// batch norm <c>(v − running_mean)/√(running_var + ε)·γ + β</c>, then the residual <paramref name="residual"/> (y's
    /// shape) added, then <paramref name="activation"/> with <paramref name="alpha"/> (as in
    /// <see cref="IBackend.ActivationForward"/>). The result must be the bits of those ops run one after another.
    /// </summary>
    void Conv2dFusedForward(Tensor input, Tensor weight, Tensor? bias, FoldedBatchNorm? batchNorm, Tensor? residual,
        ActivationKind? activation, float alpha, Tensor output, Window2d window, int groups = 1);

    /// <summary>Whether one <see cref="Conv2dFusedForward"/> takes a chain with these parts (a GL kernel's storage
    /// bindings run out for a bias, a batch norm and a residual together); the plan ends a chain before the Add where not.
    /// Every combination by default.</summary>
    bool CanFuse(bool bias, bool batchNorm, bool residual) => true;

    /// <summary><c>y = act(x·Wᵀ + b)</c>: <see cref="IBackend.LinearForward"/>, then <paramref name="activation"/> with
    /// <paramref name="alpha"/> (as in <see cref="IBackend.ActivationForward"/>); x (N,I), W (O,I), b (O) or null, y (N,O).
    /// The result must be the bits of the two ops run one after the other.</summary>
    void LinearFusedForward(Tensor input, Tensor weight, Tensor? bias, ActivationKind activation, float alpha, Tensor output);
}

/// <summary>One convolution of a fused pair (<see cref="IFusedPairForward"/>) and what its chain folds in: the weights
/// (O, C/G, KH, KW), bias (O) or null, an eval-mode batch norm, a residual of its output's shape, an activation with
/// <see cref="Alpha"/>, its window and group count — the arguments of <see cref="IFusedForward.Conv2dFusedForward"/>
/// other than the input and the output.</summary>
public readonly record struct FusedConvolution(Tensor Weight, Tensor? Bias, FoldedBatchNorm? BatchNorm, Tensor? Residual,
    ActivationKind? Activation, float Alpha, Window2d Window, int Groups);

/// <summary>
/// A backend that runs two fused convolutions, the second reading only the first's output, as one op: a pointwise
/// (1×1, stride 1, unpadded, ungrouped) convolution's chain followed by a depthwise convolution's chain (one input channel
/// per group, any kernel, stride, padding, dilation and channel multiplier), as in an inverted residual block (MobileNet
/// v2's expansion and depthwise layers). The backend may compute the intermediate tensor a band of rows at a time, so it
/// stays in cache instead of being written whole and read back. <see cref="Execution.ExecutionPlan.ForInference"/> uses it
/// where the backend has it.
/// </summary>
public interface IFusedPairForward
{
    /// <summary>Whether <see cref="Conv2dPairFusedForward"/> takes a first convolution of <paramref name="firstWeight"/>'s
    /// shape, window and groups on an input of <paramref name="input"/>'s shape, followed by the second one.</summary>
    bool CanFusePair(TensorShape input, TensorShape firstWeight, Window2d firstWindow, int firstGroups,
        TensorShape secondWeight, Window2d secondWindow, int secondGroups);

    /// <summary>
    /// <c>output = second(first(input))</c>, each a <see cref="IFusedForward.Conv2dFusedForward"/> with its
    /// <see cref="FusedConvolution"/>'s parts: input (N,C,H,W), <paramref name="intermediate"/> first's output (N,E,H,W),
    /// <paramref name="output"/> (N,O,OH,OW). The result must be the bits of the two fused ops run one after the other;
    /// <paramref name="intermediate"/> is scratch storage of first's output shape whose contents are unspecified afterwards.
    /// </summary>
    void Conv2dPairFusedForward(Tensor input, in FusedConvolution first, Tensor intermediate, in FusedConvolution second, Tensor output);
}

/// <summary>
/// A backend that runs a fused convolution (<see cref="IFusedForward.Conv2dFusedForward"/>'s chain) and the max pooling
/// that alone reads its output as one op, so the convolution's output is never written out whole (on GL: one dispatch
/// instead of two; LeNet-5's conv → relu → pool). <see cref="Execution.ExecutionPlan.ForInference"/> uses it where the
/// backend has it and <see cref="CanFusePool"/> takes the pair.
/// </summary>
public interface IFusedPoolForward
{
    /// <summary>Whether <see cref="Conv2dMaxPoolFusedForward"/> takes a max pooling <paramref name="pool"/> of a
    /// convolution's output (N,O,OH,OW) <paramref name="convolutionOutput"/>.</summary>
    bool CanFusePool(TensorShape convolutionOutput, Window2d pool);

    /// <summary>
    /// <c>output = maxpool(conv(input))</c>: <see cref="IFusedForward.Conv2dFusedForward"/> with
    /// <paramref name="convolution"/>'s parts, then <see cref="IBackend.MaxPool2dForward"/> with <paramref name="pool"/>
    /// (padding is −∞, the first maximum in row-major window order); input (N,C,H,W), output (N,O,POH,POW). The result must
    /// be the bits of the two ops run one after the other. <paramref name="intermediate"/> (the convolution's output
    /// shape, (N,O,OH,OW)) and <paramref name="argmax"/> (the output's shape) are scratch storage whose contents are
    /// unspecified afterwards: the argmax is not an output here (inference).
    /// </summary>
    void Conv2dMaxPoolFusedForward(Tensor input, in FusedConvolution convolution, Tensor intermediate, Window2d pool, Tensor argmax, Tensor output);
}
