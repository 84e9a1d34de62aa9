using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Backends;

/// <summary>
/// A place where tensors live and the primitive ops run: the CPU (the readable reference) or OpenGL
/// compute shaders. Every op has a forward and a backward. Conventions, for every method:
/// <list type="bullet">
/// <item>The caller allocates every output (<see cref="Allocate"/>); ops never allocate.</item>
/// <item>Shapes were validated once, when the graph was built; ops trust them.</item>
/// <item>Backward methods <b>add</b> into gradient tensors (<c>+=</c>), so a tensor that fans out
///   collects every consumer's contribution; the execution plan zeroes gradients once per step.
///   A null gradient argument means "not needed" and is skipped. The ops that take <c>accumulate</c> can instead set
///   their input gradient, <c>dx = 0 + …</c>, for its first contributor: the bits of zeroing it and adding, without the
///   zeroing or a read of dx (see <see cref="Layers.NodeTensors.SetsInputGrad"/>).</item>
/// <item>Nothing is read back to the host except by <see cref="Download"/>.</item>
/// </list>
/// Methods must be called on the thread that owns the backend (the GL context's thread for GL).
/// </summary>
public partial interface IBackend : IDisposable
{
    /// <summary>Short name: "cpu" or "gl".</summary>
    string Name { get; }
    /// <summary>The device, for reports: the GL renderer string, or the CPU's description.</summary>
    string DeviceName { get; }

    /// <summary>Allocates a zero-filled tensor of <paramref name="shape"/> on this backend's device, owned by the caller
    /// (dispose it once); <paramref name="name"/> appears in messages and debuggers.</summary>
    Tensor Allocate(TensorShape shape, string name);
    /// <summary>Allocates zero-filled tensors of <paramref name="shapes"/> (named <paramref name="names"/>) that the backend may
    /// place side by side in one block of device memory named <paramref name="groupName"/>, so that one kernel can reach all
    /// of them: parameters, their gradients and the optimizer's state are allocated this way, and
    /// <see cref="UpdateParameters"/> then updates them all in one dispatch. Each tensor is the caller's and is disposed on
    /// its own, as <see cref="Allocate"/>'s are; the block goes with the last of them.</summary>
    Tensor[] AllocateGroup(IReadOnlyList<TensorShape> shapes, IReadOnlyList<string> names, string groupName);
    /// <summary>Copies <paramref name="source"/> (exactly <c>tensor.Length</c> values) into the tensor.</summary>
    void Upload(Tensor tensor, ReadOnlySpan<float> source);
    /// <summary>Copies the tensor into <paramref name="destination"/>; waits for pending work.</summary>
    void Download(Tensor tensor, Span<float> destination);
    /// <summary>Downloads so far. On a GPU each one waits for the device, so a game loop (and the tests)
    /// check that this grows only when the caller asked for a result.</summary>
    long ReadbackCount { get; }
    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    void Fill(Tensor tensor, float value);
    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (same length).</summary>
    void Copy(Tensor source, Tensor destination);

    /// <summary>Fully connected layer: <c>y[n,o] = Σ_i x[n,i]·W[o,i] + b[o]</c>.
    /// input (N,I), weight (O,I), bias (O) or null, output (N,O).</summary>
    void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output);
    /// <summary>In the forward pass this was <c>y = x·Wᵀ + b</c>. Adds
    /// <c>dx += dy·W</c> (N,I), <c>dW += dyᵀ·x</c> (O,I), <c>db += Σ_n dy</c> (O).</summary>
    void LinearBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad);

    /// <summary>2-D convolution (cross-correlation, as in PyTorch):
    /// <c>y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n, g·C/G + c, i·s − pad + p·d, j·s − pad + q·d]·W[o,c,p,q]</c>, zero outside
    /// the input, where <c>g = o / (O/G)</c> is the output channel's group (G = <paramref name="groups"/>: 1 is an
    /// ordinary convolution, C a depthwise one). input (N,C,H,W), weight (O,C/G,KH,KW), bias (O) or null, output (N,O,OH,OW).</summary>
    void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1);
    /// <summary>Adds the gradients of <see cref="Conv2dForward"/>: dx (N,C,H,W), dW (O,C/G,KH,KW), db (O); any may be null
    /// (without dW the input is not read, only its shape). With <paramref name="accumulate"/> false, dx is set instead,
    /// <c>dx = 0 + …</c> (every element, the bits of zeroing dx first; dW and db are still added into).</summary>
    void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, Window2d window, int groups = 1,
        bool accumulate = true);

    /// <summary>Max pooling: <c>y = max over the window</c>, padding counts as −∞.
    /// input (N,C,H,W), output and argmax (N,C,OH,OW). <paramref name="argmax"/> receives, as a float,
    /// the flat index <c>h·W + w</c> inside the input plane of the first maximum in the window.</summary>
    void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Window2d window);
    /// <summary>In the forward pass this was <c>y = x[argmax]</c>; adds <c>dy</c> into <c>dx[argmax]</c>.</summary>
    void MaxPool2dBackward(Tensor argmax, Tensor outputGrad, Tensor inputGrad, Window2d window);

    /// <summary>Average pooling: <c>y = Σ window / count</c>, where count is <c>KH·KW</c> when
    /// <paramref name="countIncludePad"/> (PyTorch's default) or the number of in-bounds elements otherwise.</summary>
    void AvgPool2dForward(Tensor input, Tensor output, Window2d window, bool countIncludePad);
    /// <summary>Adds <c>dy / count</c> into every input element of each window.</summary>
    void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad);

    /// <summary>Element-wise activation <c>y = f(x)</c>; input and output have the same length.
    /// <paramref name="alpha"/> is the function's parameter: LeakyReLU's negative slope (default 0.01, PyTorch's);
    /// the other kinds ignore it.</summary>
    void ActivationForward(ActivationKind kind, Tensor input, Tensor output, float alpha = 0.01f);
    /// <summary>Adds <c>dx += f′(x)·dy</c>, with f′ written from the input or the saved output (see <see cref="ActivationKind"/>);
    /// <paramref name="alpha"/> as in <see cref="ActivationForward"/>. With <paramref name="accumulate"/> false, sets
    /// <c>dx = 0 + f′(x)·dy</c> instead (every element, the bits of zeroing dx first).</summary>
    void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, float alpha = 0.01f,
        bool accumulate = true);

    /// <summary>Softmax cross-entropy, fused and numerically stable:
    /// <c>p = softmax(z)</c> per row (computed as <c>e^(z − max z)</c>),
    /// <c>loss = −(1/N) Σ_n Σ_k t[n,k]·log p[n,k]</c> with log p taken as <c>z − max − log Σ e^(z − max)</c>.
    /// logits and target (N,K) (each target row a distribution: one-hot or soft), probabilities (N,K), loss (1).</summary>
    void SoftmaxCrossEntropyForward(Tensor logits, Tensor target, Tensor probabilities, Tensor loss);
    /// <summary>Adds <c>dz += scale·(p − t)/N</c> (the gradient of the mean loss, times <paramref name="scale"/>).</summary>
    void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor target, Tensor logitsGrad, float scale);


    // ── merging branches: residual Add, Concat along channels, channel-wise Multiply ──

    /// <summary>Element-wise <c>destination += scale·source</c> (same length). Residual sums and every
    /// gradient that passes through unchanged (Add's backward) are this op. With <paramref name="accumulate"/> false,
    /// <c>destination = 0 + scale·source</c> (the bits of zeroing it first, without reading it).</summary>
    void Accumulate(Tensor source, Tensor destination, float scale, bool accumulate = true);

    /// <summary>Concatenation along channels, one input at a time: copies <paramref name="input"/>
    /// (N,Cᵢ,H,W) into channels [offset, offset + Cᵢ) of <paramref name="output"/> (N,C,H,W).
    /// Rank-2 tensors (N,Cᵢ) are treated as (N,Cᵢ,1,1).</summary>
    void ConcatForward(Tensor input, Tensor output, int channelOffset);
    /// <summary>In the forward pass this was <c>y[:, offset + c] = x[:, c]</c>; adds that slice of dy into dx.</summary>
    void ConcatBackward(Tensor outputGrad, Tensor inputGrad, int channelOffset);

    /// <summary>Channel-wise scaling (squeeze-and-excitation): <c>y[n,c,h,w] = x[n,c,h,w]·s[n,c]</c>,
    /// x and y (N,C,H,W), scale (N,C) or (N,C,1,1).</summary>
    void ChannelMultiplyForward(Tensor input, Tensor scale, Tensor output);
    /// <summary>Adds <c>dx += dy·s[n,c]</c> and <c>ds[n,c] += Σ_{h,w} dy·x</c> (either may be null).</summary>
    void ChannelMultiplyBackward(Tensor input, Tensor scale, Tensor outputGrad, Tensor? inputGrad, Tensor? scaleGrad);

    // ── element-wise arithmetic: binary ops with broadcasting, math functions ──

    /// <summary><c>y = a ∘ b</c> element-wise with NumPy broadcasting (<see cref="Broadcast"/>): a, b of rank ≤ 4 whose
    /// aligned sizes are equal or 1, y their broadcast shape (see <see cref="BinaryOp"/> for the ops). b is read as
    /// <paramref name="bShape"/>: its own shape, or another of the same length, such as PReLU's slopes (C) read as
    /// (C,1,…,1) (<see cref="Broadcast.ChannelAligned"/>), with no view allocated.</summary>
    void BinaryForward(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output);
    /// <summary>In the forward pass this was <c>y = a ∘ b</c>, broadcast, b read as <paramref name="bShape"/>: adds
    /// <c>da += Σ dy·∂y/∂a</c> and <c>db += Σ dy·∂y/∂b</c>, each summed over the output elements that read the operand's
    /// element (either may be null).</summary>
    void BinaryBackward(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad);

    /// <summary><c>y = a ∘ b</c> with b read as its own shape (<see cref="BinaryForward(BinaryOp, Tensor, Tensor, TensorShape, Tensor)"/>).</summary>
    void BinaryForward(BinaryOp op, Tensor a, Tensor b, Tensor output) => BinaryForward(op, a, b, b.Shape, output);
    /// <summary>The gradients of <c>y = a ∘ b</c> with b read as its own shape
    /// (<see cref="BinaryBackward(BinaryOp, Tensor, Tensor, TensorShape, Tensor, Tensor, Tensor?, Tensor?)"/>).</summary>
    void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor output, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad) =>
        BinaryBackward(op, a, b, b.Shape, output, outputGrad, aGrad, bGrad);

    /// <summary><c>y = f(x)</c> element-wise, any shape (see <see cref="UnaryOp"/> for the functions).</summary>
    void UnaryForward(UnaryOp op, Tensor input, Tensor output);
    /// <summary>In the forward pass this was <c>y = f(x)</c>: adds <c>dx += f′(x)·dy</c> (f′ from x or the saved y).</summary>
    void UnaryBackward(UnaryOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad);

    // ── activations: softmax, local response normalization ──

    /// <summary>Softmax over <paramref name="axis"/> of any shape, numerically stable. The tensor is read as (outer, K, inner)
    /// with K = shape[axis] (outer the product of the sizes before it, inner of those after):
    /// <c>y[o,k,i] = e^(x[o,k,i] − m) / Σ_j e^(x[o,j,i] − m)</c>, <c>m = max_j x[o,j,i]</c>; with <paramref name="logarithm"/>
    /// its logarithm, <c>y[o,k,i] = x[o,k,i] − m − log Σ_j e^(x[o,j,i] − m)</c> (PyTorch's <c>log_softmax</c>). Axis 1 of (N,K)
    /// is the classifier's softmax. input and output have one shape.</summary>
    void SoftmaxForward(Tensor input, Tensor output, int axis = 1, bool logarithm = false);
    /// <summary>In the forward pass this was <c>y = softmax(x)</c> over <paramref name="axis"/> (read as (outer, K, inner)); adds
    /// <c>dx[o,k,i] += y[o,k,i]·(dy[o,k,i] − Σ_j dy[o,j,i]·y[o,j,i])</c>, or for the <paramref name="logarithm"/>
    /// <c>dx[o,k,i] += dy[o,k,i] − e^(y[o,k,i])·Σ_j dy[o,j,i]</c>. output, outputGrad and inputGrad have one shape.</summary>
    void SoftmaxBackward(Tensor output, Tensor outputGrad, Tensor inputGrad, int axis = 1, bool logarithm = false);

    /// <summary>Local response normalization across channels (AlexNet; PyTorch's <c>LocalResponseNorm</c>):
    /// <c>s[n,c] = k + (α/size)·Σ_{c′=c−⌊size/2⌋}^{c+⌊(size−1)/2⌋} x[n,c′]²</c> (channels outside [0,C) count as 0),
    /// <c>y = x·s^−β</c>. input, output and <paramref name="scale"/> (N,C,H,W) or (N,C); the scale is saved for backward.</summary>
    void LocalResponseNormForward(Tensor input, Tensor output, Tensor scale, int size, float alpha, float beta, float k);
    /// <summary>In the forward pass this was <c>y = x·s^−β</c>; adds
    /// <c>dx[c] += dy[c]·s[c]^−β − (2αβ/size)·x[c]·Σ_{c′ whose window holds c} dy[c′]·y[c′]/s[c′]</c>.</summary>
    void LocalResponseNormBackward(Tensor input, Tensor output, Tensor scale, Tensor outputGrad, Tensor inputGrad, int size, float alpha, float beta);

    // ── normalization: batch normalization, dropout ──

    /// <summary>
    /// Batch normalization (PyTorch's <c>BatchNorm1d</c>/<c>BatchNorm2d</c>), per channel c over its M = N·H·W values.
    /// Training: <c>μ</c> = batch mean, <c>σ²</c> = biased batch variance; <c>saveMean ← μ</c>, <c>saveInvStd ← 1/√(σ² + ε)</c>,
    /// <c>runningMean ← (1−m)·runningMean + m·μ</c>, <c>runningVar ← (1−m)·runningVar + m·σ²·M/(M−1)</c> (unbiased). Eval:
    /// <c>saveMean ← runningMean</c>, <c>saveInvStd ← 1/√(runningVar + ε)</c>, running statistics untouched. Then
    /// <c>y = (x − saveMean)·saveInvStd·γ + β</c>. input and output (N,C,H,W), or (N,C) read as (N,C,1,1);
    /// weight γ, bias β, running and saved statistics (C). Training needs M &gt; 1.
    /// </summary>
    void BatchNormForward(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
        Tensor saveMean, Tensor saveInvStd, Tensor output, bool training, float momentum, float epsilon);
    /// <summary>In the forward pass this was <c>y = γ·x̂ + β</c>, <c>x̂ = (x − saveMean)·saveInvStd</c>. Adds
    /// <c>dβ += Σ dy</c>, <c>dγ += Σ dy·x̂</c> (sums over N,H,W) and, in training (where μ and σ depend on x),
    /// <c>dx += γ·saveInvStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)</c>; in eval (a fixed affine map) <c>dx += γ·saveInvStd·dy</c>.
    /// With <paramref name="accumulate"/> false, dx is set to <c>0 + …</c> instead (the bits of zeroing it first).</summary>
    void BatchNormBackward(Tensor input, Tensor weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, bool training, bool accumulate = true);

    /// <summary>Inverted dropout: <c>mask[i] = u_i ≥ p ? 1/(1−p) : 0</c>, <c>y = x·mask</c>, where
    /// <c>u_i = CounterRandom.Uniform(seed, stream, step, i)</c>, identical on every backend. p = 0 gives
    /// <c>mask = 1</c>, <c>y = x</c> (eval mode). input, output and mask have the same length; 0 ≤ p &lt; 1.</summary>
    void DropoutForward(Tensor input, Tensor output, Tensor mask, float p, uint seed, uint stream, uint step);
    /// <summary>In the forward pass this was <c>y = x·mask</c>; adds <c>dx += dy·mask</c>.</summary>
    void DropoutBackward(Tensor mask, Tensor outputGrad, Tensor inputGrad);

    // ── optimizers: update rules (torch.optim's), L1/L2 penalties, gradient clipping ──
    // Every update rule works in place, element-wise, on one parameter and its gradient (the gradient is
    // not changed); its state tensors have the parameter's length and start at zero. Coupled weight decay
    // λ (torch.optim's weight_decay) first turns the gradient into g = ∇E + λ·w.

    /// <summary>SGD as PyTorch's <c>SGD</c> defines it: <c>g = ∇E + λ·w</c>; without <paramref name="velocity"/>
    /// <c>w ← w − lr·g</c>; with it <c>v ← μ·v + g</c> and <c>w ← w − lr·v</c>, or with
    /// <paramref name="nesterov"/> <c>w ← w − lr·(g + μ·v)</c>. (The course's <c>V ← μV − εg</c>, <c>w ← w + V</c>
    /// with the learning rate factored out of V.) velocity: PyTorch's momentum_buffer.</summary>
    void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum, float weightDecay = 0f, bool nesterov = false);

    /// <summary>AdaGrad (PyTorch's <c>Adagrad</c>, no rate decay): <c>g = ∇E + λ·w</c>, <c>h ← h + g²</c>,
    /// <c>w ← w − lr·g / (√h + ε)</c>. sum: the accumulator h.</summary>
    void AdaGradUpdate(Tensor parameter, Tensor gradient, Tensor sum, float learningRate, float epsilon, float weightDecay);

    /// <summary>RMSProp (PyTorch's <c>RMSprop</c>, not centered): <c>g = ∇E + λ·w</c>, <c>h ← α·h + (1 − α)·g²</c>;
    /// without <paramref name="velocity"/> <c>w ← w − lr·g / (√h + ε)</c>; with it <c>v ← μ·v + g / (√h + ε)</c>,
    /// <c>w ← w − lr·v</c>. squareAverage: h.</summary>
    void RmsPropUpdate(Tensor parameter, Tensor gradient, Tensor squareAverage, Tensor? velocity, float learningRate, float alpha, float epsilon, float momentum, float weightDecay);

    /// <summary>Adam (PyTorch's <c>Adam</c>, or <c>AdamW</c> when <paramref name="decoupledWeightDecay"/>), step
    /// <paramref name="step"/> = t ≥ 1: coupled <c>g = ∇E + λ·w</c> or decoupled <c>w ← w·(1 − lr·λ)</c> with
    /// <c>g = ∇E</c>; then <c>m ← β₁·m + (1 − β₁)·g</c>, <c>v ← β₂·v + (1 − β₂)·g²</c>,
    /// <c>w ← w − (lr / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)</c>. The bias corrections are computed on the host
    /// from t (in double, as PyTorch does), so the device needs no step counter.</summary>
    void AdamUpdate(Tensor parameter, Tensor gradient, Tensor firstMoment, Tensor secondMoment, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, long step);

    /// <summary>One step of <paramref name="rule"/> on every parameter, a multi-tensor apply: for each i,
    /// <c>parameters[i]</c> with <c>gradients[i]</c>, its <see cref="UpdateRule.StateCount"/> state tensors
    /// <c>state[i]</c> and its weight decay <c>weightDecays[i]</c>, exactly as <see cref="UpdateRule.Apply"/> would update
    /// it (the same arithmetic, the same bits). On GL, when the parameters, the gradients and each kind of state are each
    /// ranges of one buffer (<see cref="AllocateGroup"/>), it is one dispatch over all of them with a table of the ranges;
    /// otherwise, and on the CPU, one update per parameter. Honours <see cref="UpdateGuard"/>.</summary>
    void UpdateParameters(in UpdateRule rule, ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state,
        ReadOnlySpan<float> weightDecays);

    /// <summary>The course's weight penalty <c>(1/p)·λ·‖w‖ₚᵖ</c> for p = 1 and 2, added into a one-element total:
    /// <c>total[0] += λ₁·Σ|x| + (λ₂/2)·Σx²</c>. input any shape, total (1). With λ₁ = 0, λ₂ = 2 it adds <c>Σx²</c>
    /// (the squared norm that gradient clipping needs).</summary>
    void NormPenaltyForward(Tensor input, Tensor total, float l1, float l2);
    /// <summary>In the forward pass this was <c>λ₁·Σ|x| + (λ₂/2)·Σx²</c>; adds <c>dx += λ₁·sign(x) + λ₂·x</c>
    /// (sign(0) = 0, as torch.sign).</summary>
    void NormPenaltyBackward(Tensor input, Tensor inputGrad, float l1, float l2);

    /// <summary>The scaling step of PyTorch's <c>clip_grad_norm_</c>, reading the total on the device:
    /// <c>g ← g·min(1, maxNorm / (√s + 10⁻⁶))</c> where <c>s = sumOfSquares[0]</c> is Σ‖g‖² over every
    /// gradient (<see cref="NormPenaltyForward"/> with λ₂ = 2). gradient any shape, sumOfSquares (1).</summary>
    void ClipByTotalNorm(Tensor gradient, Tensor sumOfSquares, float maxNorm);

    /// <summary>The L1/L2 penalty of many tensors, a multi-tensor apply: for each i, <see cref="NormPenaltyForward"/> and
    /// <see cref="NormPenaltyBackward"/> of <c>inputs[i]</c> (any shape) with <c>l1[i]</c>, <c>l2[i]</c>, so
    /// <c>total[0] += Σ_i λ₁ᵢ·Σ|xᵢ| + (λ₂ᵢ/2)·Σxᵢ²</c> (total (1)) and <c>inputGrads[i] += λ₁ᵢ·sign(xᵢ) + λ₂ᵢ·xᵢ</c>. On GL,
    /// when the inputs and the gradients are each ranges of one buffer (<see cref="AllocateGroup"/>), it is three dispatches
    /// for all of them (the sum's two passes and the gradient); otherwise, and on the CPU, those calls per tensor
    /// (<see cref="MultiTensor.AddNormPenaltiesEach"/>). The total may differ from the per-tensor sum in rounding only.</summary>
    void AddNormPenalties(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> inputGrads, Tensor total, ReadOnlySpan<float> l1, ReadOnlySpan<float> l2);

    /// <summary>PyTorch's <c>clip_grad_norm_</c> over every gradient: <c>sumOfSquares[0] = Σ_i ‖gᵢ‖²</c> (overwritten; (1)),
    /// then <c>gᵢ ← gᵢ·min(1, maxNorm / (√s + 10⁻⁶))</c> for each (<see cref="ClipByTotalNorm"/>). On GL, when the gradients are
    /// ranges of one buffer, three dispatches for all of them (the sum's two passes, the second writing s, and the scaling); otherwise, and on
    /// the CPU, per tensor (<see cref="MultiTensor.ClipGradientsByTotalNormEach"/>).</summary>
    void ClipGradientsByTotalNorm(ReadOnlySpan<Tensor> gradients, Tensor sumOfSquares, float maxNorm);

    // ── zoo ──

    /// <summary>Adaptive average pooling (PyTorch's <c>AdaptiveAvgPool2d</c>): input (N,C,H,W), output (N,C,OH,OW);
    /// <c>y[n,c,i,j]</c> is the mean of <c>x[n,c,h,w]</c> over rows <c>⌊i·H/OH⌋ ≤ h &lt; ⌈(i+1)·H/OH⌉</c> and columns
    /// <c>⌊j·W/OW⌋ ≤ w &lt; ⌈(j+1)·W/OW⌉</c>. Windows may overlap (14 → 4) or repeat an element (1 → 7).</summary>
    void AdaptiveAvgPool2dForward(Tensor input, Tensor output);
    /// <summary>In the forward pass this was a window mean: adds <c>dy[n,c,i,j] / |window(i,j)|</c> to every element of
    /// each window into dx (N,C,H,W).</summary>
    void AdaptiveAvgPool2dBackward(Tensor outputGrad, Tensor inputGrad);

    // ── augmentation ──
    // Forward only: augmentation rewrites the input batch before the network sees it, so nothing flows back.
    // The random draws are made on the host (Data/Augmentation) and arrive as a small per-sample parameter
    // tensor; these kernels only move pixels, so every backend gives the same result for the same draws.

    /// <summary>Shifted (cropped) and optionally mirrored copy, per sample: parameters (N,3) hold
    /// <c>(rowShift, columnShift, flip)</c> as whole-number floats and
    /// <c>y[n,c,i,j] = x[n,c, i + rowShift, j′ + columnShift]</c> with <c>j′ = flip ≠ 0 ? OW−1−j : j</c>, and
    /// <paramref name="fill"/> where that falls outside x (the padding of a padded random crop).
    /// input (N,C,H,W), output (N,C,OH,OW), a different tensor.</summary>
    void AugmentCropFlip(Tensor input, Tensor output, Tensor parameters, float fill);

    /// <summary>In place, per sample: <c>x[n,c,h,w] = value</c> for <c>top ≤ h &lt; bottom</c>, <c>left ≤ w &lt; right</c>,
    /// every channel, where rectangles (N,4) holds <c>(top, left, bottom, right)</c> as whole-number floats (an empty
    /// rectangle leaves the sample unchanged). Cutout and Random Erasing. images (N,C,H,W).</summary>
    void AugmentFillRectangles(Tensor images, Tensor rectangles, float value);

    /// <summary>Convex combination of each sample with a partner (mixup): parameters (N,3) hold
    /// <c>(partner, λ, 1−λ)</c> and <c>y[n,r] = λ·x[n,r] + (1−λ)·x[partner,r]</c> over each row of
    /// <c>L = Length/N</c> values. input and output (N,…) of the same shape, different tensors: images (N,C,H,W)
    /// or targets (N,K).</summary>
    void AugmentMix(Tensor input, Tensor output, Tensor parameters);

    // ── stochastic regularizers ──
    // Stochastic Depth, Shake-Shake and ShakeDrop scale a residual branch by one number per sample, drawn on the host
    // (CounterRandom) into a small coefficient tensor the layer uploads; Swapout draws one mask per unit on the device.

    /// <summary>Per-sample scaled accumulation, <c>destination[n,i] += coefficients[n,column]·source[n,i]</c>: source and
    /// destination (N,…) of equal shape, coefficients (N,K) with 0 ≤ column &lt; K. The forward of a per-sample random
    /// residual (<c>y = x + c[n]·F</c>) and, with the backward column, its branch gradient (<c>dF += c′[n]·dy</c>).</summary>
    void AccumulatePerSample(Tensor source, Tensor coefficients, int column, Tensor destination);

    /// <summary>Swapout (Singh et al., 2016), <c>y = θ₁⊙x + θ₂⊙F</c> with independent per-unit masks. Training:
    /// <c>θ₁[i] = u₁ ≥ p₁ ? 1 : 0</c>, <c>θ₂[i] = u₂ ≥ p₂ ? 1 : 0</c>, where u₁ is lane i mod 4 of
    /// Philox(<c>(⌊i/4⌋, step, 0, 0)</c>, <c>(seed, stream)</c>) (<see cref="CounterRandom.Uniform"/>, as dropout) and u₂ the
    /// same with counter word 2 = 1; eval: the expectations <c>θ₁ = 1 − p₁</c>, <c>θ₂ = 1 − p₂</c>. identity, branch,
    /// output and both masks have the same length; 0 ≤ p₁, p₂ &lt; 1 (eval writes the masks too, so backward is
    /// <see cref="DropoutBackward"/> with each mask in either mode).</summary>
    void SwapoutForward(Tensor identity, Tensor branch, Tensor output, Tensor identityMask, Tensor branchMask,
        float identityDropProbability, float branchDropProbability, bool training, uint seed, uint stream, uint step);

    // ── frame budgets and the non-finite guard (Training/FrameBudgetedTrainer, Training/NonFiniteGuard) ──
    // The guard checks the loss and gradients on the device and latches the first bad step into a small report
    // tensor; the optimizer's update rules read that report and leave the weights alone, so nothing is read back
    // per step. A step number t lives in a report float as its raw bits (exact for every uint, unlike a float value).

    /// <summary>Sets <c>flags[index] = 1</c> when any element of <paramref name="input"/> is NaN or ±∞ (tested on the
    /// exponent bits, so fast-math cannot fold it away); otherwise leaves it unchanged. input any shape, flags (M).</summary>
    void FlagNonFinite(Tensor input, Tensor flags, int index);

    /// <summary>Many <see cref="FlagNonFinite"/>s, a multi-tensor apply: for each i, <c>flags[indices[i]] = 1</c> when any
    /// element of <c>inputs[i]</c> (any shape) is NaN or ±∞, otherwise that flag is left unchanged — exactly the flags
    /// of those calls. inputs and indices of equal length, each index in [0, M), flags (M). On GL, each run of neighbours in
    /// <paramref name="inputs"/> that are ranges of one buffer (<see cref="AllocateGroup"/>: the parameters, the gradients)
    /// is one dispatch, and the other tensors (the node outputs, each a buffer of its own) are one dispatch per seven; on
    /// the CPU every tensor takes the per-tensor call (<see cref="MultiTensor.FlagNonFiniteEach"/>).</summary>
    void FlagNonFiniteTensors(ReadOnlySpan<Tensor> inputs, Tensor flags, ReadOnlySpan<int> indices);

    /// <summary>Latches the first non-finite step: if the bits of <c>report[0]</c> are 0 and some <c>flags[i] ≠ 0</c>
    /// (i &lt; M), writes <c>report[1 + i] = flags[i]</c> for every i and then <c>report[0] = bits(step)</c>; otherwise
    /// changes nothing. flags (M), report (1 + M), step ≥ 1.</summary>
    void LatchNonFinite(Tensor flags, Tensor report, uint step);

    /// <summary>While set, the update rules (<see cref="SgdUpdate"/>, <see cref="AdaGradUpdate"/>, <see cref="RmsPropUpdate"/>,
    /// <see cref="AdamUpdate"/>) leave the parameter and its state unchanged when the bits of <c>UpdateGuard[0]</c>
    /// are not 0 — decided on the device, no readback. A <see cref="LatchNonFinite"/> report. Null (the default): always update.</summary>
    Tensor? UpdateGuard { get; set; }

    /// <summary>Undoes what a guarded step did to state its forward pass updates (batch norm's running statistics), or
    /// keeps that state as the last good one: when the bits of <c>report[0]</c> are not 0 (a <see cref="LatchNonFinite"/>
    /// report), <c>target[i] = saved[i]</c> for every i, otherwise <c>saved[i] = target[i]</c> — decided on the device, no
    /// readback. saved and target of equal length.</summary>
    void RestoreOrSave(Tensor saved, Tensor target, Tensor report);

    /// <summary>Device timestamps for work that runs asynchronously to the host (GL timer queries), or null when
    /// the backend works synchronously on the calling thread (the CPU: the wall clock measures it).</summary>
    /// <param name="capacity">Number of timestamp slots, ≥ 1.</param>
    IDeviceTimer? CreateDeviceTimer(int capacity);

    // ── in-game learning: on-device replay (Data/ReplayBuffer) ──
    // A replay buffer keeps samples and one-hot targets in device tensors: appending copies one sample on the device,
    // sampling draws the batch's rows on the device from Philox and gathers them, so neither direction is a readback.

    /// <summary>Copies <paramref name="count"/> values: <c>destination[destinationOffset + i] = source[sourceOffset + i]</c>
    /// for <c>0 ≤ i &lt; count</c>, both ranges inside their tensors (different tensors, or ranges that do not overlap).</summary>
    void CopyRange(Tensor source, int sourceOffset, Tensor destination, int destinationOffset, int count);

    /// <summary>Gathers uniformly drawn rows, with replacement: destination (B,…) has rows of <c>L = Length/B</c>
    /// values, source holds rows of the same L, and <c>destination[b,l] = source[r_b·L + l]</c> with
    /// <c>r_b = ⌊bits_b·rowCount / 2³²⌋ ∈ [0, rowCount)</c>, where <c>bits_b</c> is lane <c>b mod 4</c> of
    /// <c>Philox4x32((⌊b/4⌋, low32(step), high32(step), 0), (seed, stream))</c>
    /// (<see cref="CounterRandom.RowIndex"/>, identical on every backend). 1 ≤ rowCount ≤ rows in source.</summary>
    void GatherRandomRows(Tensor source, int rowCount, Tensor destination, uint seed, uint stream, long step);

    // ── bilinear resizing (Layers/Upsample, `neuro train --image-size`) ──
    // PyTorch's upsample_bilinear2d with align_corners=False; the ratios are PyTorch's source-per-output scales.

    /// <summary>Bilinear resize, input (N,C,H,W) → output (N,C,OH,OW):
    /// <c>y[n,c,i,j] = (1−λᵢ)·((1−μⱼ)·x[h₀,w₀] + μⱼ·x[h₀,w₁]) + λᵢ·((1−μⱼ)·x[h₁,w₀] + μⱼ·x[h₁,w₁])</c> where, for rows,
    /// <c>s = max(0, ratioHeight·(i + ½) − ½)</c>, <c>h₀ = ⌊s⌋</c>, <c>h₁ = min(h₀ + 1, H − 1)</c>, <c>λᵢ = s − h₀</c>, and
    /// columns likewise with <paramref name="ratioWidth"/> (PyTorch: H/OH for a fixed size, 1/scale_factor otherwise); s is
    /// computed in double and λ rounded once to float, as PyTorch's CPU kernel does.</summary>
    void UpsampleBilinear2dForward(Tensor input, Tensor output, float ratioHeight, float ratioWidth);

    /// <summary>Adds the gradient of <see cref="UpsampleBilinear2dForward"/>: each dy[n,c,i,j] times the same four weights
    /// into inputGrad (N,C,H,W) at the same four neighbours.</summary>
    void UpsampleBilinear2dBackward(Tensor outputGrad, Tensor inputGrad, float ratioHeight, float ratioWidth);
}
