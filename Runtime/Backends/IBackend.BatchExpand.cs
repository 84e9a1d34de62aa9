namespace NeuroPlugin.Backends;

// ── a constant repeated over the batch (BatchExpand) ──
public partial interface IBackend
{
    /// <summary><c>y[n,i] = c[i]</c> for every item n of <paramref name="output"/> (N,…), whose item length is
    /// <paramref name="constant"/>'s length.</summary>
    void BatchExpandForward(Tensor constant, Tensor output);

    /// <summary>In the forward pass this was <c>y[n,i] = c[i]</c>: <c>dc[i] += Σ_n dy[n,i]</c>, the sum over the items in
    /// batch order.</summary>
    void BatchExpandBackward(Tensor outputGrad, Tensor constantGrad);
}
