using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends;

/// <summary>
/// A place where tensors live and the primitive ops run: the CPU (the readable reference) or OpenGL
/// compute shaders. Every op has a forward and a backward. Conventions, for every method:
/// <list type="bullet">
/// <item>The caller allocates every output (<see cref="Allocate"/>); ops never allocate.</item>
/// <item>Shapes were validated once, when the graph was built; ops trust them.</item>
/// <item>Backward methods <b>add</b> into gradient tensors (<c>+=</c>), so a tensor that fans out
///   collects every consumer's contribution; the execution plan zeroes gradients once per step.
///   A null gradient argument means "not needed" and is skipped.</item>
/// <item>Nothing is read back to the host except by <see cref="Download"/>.</item>
/// </list>
/// Methods must be called on the thread that owns the backend (the GL context's thread for GL).
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Short name: "cpu" or "gl".</summary>
    string Name { get; }
    /// <summary>The device, for reports: the GL renderer string, or the CPU's description.</summary>
    string DeviceName { get; }

    /// <summary>Allocates a zero-filled tensor.</summary>
    Tensor Allocate(TensorShape shape, string name);
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
    /// <c>y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n,c, i·s − pad + p·d, j·s − pad + q·d]·W[o,c,p,q]</c>, zero outside the input.
    /// input (N,C,H,W), weight (O,C,KH,KW), bias (O) or null, output (N,O,OH,OW).</summary>
    void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window);
    /// <summary>Adds the gradients of <see cref="Conv2dForward"/>: dx (N,C,H,W), dW (O,C,KH,KW), db (O).</summary>
    void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad, Window2d window);

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

    /// <summary>Element-wise activation <c>y = f(x)</c>; input and output have the same length.</summary>
    void ActivationForward(ActivationKind kind, Tensor input, Tensor output);
    /// <summary>Adds <c>dx += f′(x)·dy</c>, with f′ written from the input or the saved output (see <see cref="ActivationKind"/>).</summary>
    void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad);

    /// <summary>Softmax cross-entropy, fused and numerically stable:
    /// <c>p = softmax(z)</c> per row (computed as <c>e^(z − max z)</c>),
    /// <c>loss = −(1/N) Σ_n Σ_k t[n,k]·log p[n,k]</c> with log p taken as <c>z − max − log Σ e^(z − max)</c>.
    /// logits and target (N,K) (each target row a distribution: one-hot or soft), probabilities (N,K), loss (1).</summary>
    void SoftmaxCrossEntropyForward(Tensor logits, Tensor target, Tensor probabilities, Tensor loss);
    /// <summary>Adds <c>dz += scale·(p − t)/N</c> (the gradient of the mean loss, times <paramref name="scale"/>).</summary>
    void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor target, Tensor logitsGrad, float scale);

    /// <summary>SGD on the device, with momentum as PyTorch's <c>SGD</c> defines it:
    /// <c>v ← μ·v + g</c>, <c>w ← w − lr·v</c> (the course's <c>V ← μV − εg</c>, <c>w ← w + V</c> with the
    /// learning rate factored out of V). Without <paramref name="velocity"/> it is plain <c>w ← w − lr·g</c>.</summary>
    void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum);
}
