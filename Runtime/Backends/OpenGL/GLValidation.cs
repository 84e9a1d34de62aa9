namespace NeuroPlugin.Backends.OpenGL;

/// <summary>The order in which validation mode runs the work groups of a dispatch.</summary>
public enum WorkGroupOrder
{
    /// <summary>A seeded random permutation (a new one per dispatch, from one seeded stream).</summary>
    Shuffled,
    /// <summary>Last work group first.</summary>
    Reversed,
}

/// <summary>
/// Settings of validation mode (<see cref="GLDevice.Validation"/>): a debugging mode that makes ordering faults
/// visible on any driver, llvmpipe included. It
/// <list type="bullet">
/// <item>runs every dispatch as single-work-group dispatches in <see cref="Order"/>, so a kernel whose work groups
///   depend on each other, or on running in order, gives other results than in normal mode;</item>
/// <item>checks every dispatch's storage bindings: each block the kernel uses is bound for this dispatch (not left
///   over from an earlier kernel), and no buffer range is bound twice where either binding may be written, unless
///   the kernel declares that pair in place (<c>#pragma neuro_in_place(OUTPUT0, INPUT0)</c>);</item>
/// <item>creates buffers filled with a NaN pattern (<see cref="NaNPattern"/>) and overwrites released ones with it,
///   so reading memory nobody wrote, or memory given back, shows as NaN;</item>
/// <item>tracks per buffer the order of kernel accesses, transfers (uploads, clears, copies, readbacks), host
///   accesses to mapped staging, barriers and fences, and throws <see cref="GLHazardException"/> when a read does not
///   follow the write it needs with the right barrier or fence between them (<see cref="GLHazard"/>).</item>
/// </list>
/// Results in validation mode must be bit-identical to normal mode; it is much slower (one dispatch per work group).
/// </summary>
/// <param name="Order">Work group order.</param>
/// <param name="Seed">Seed of the shuffles (ignored when reversed).</param>
public sealed record GLValidationOptions(WorkGroupOrder Order = WorkGroupOrder.Shuffled, int Seed = 1)
{
    /// <summary>Environment variable that turns validation on for every new <see cref="GLDevice"/>: <c>1</c> or
    /// <c>shuffled</c> (seed from <see cref="SeedEnvironmentVariable"/>, default 1), or <c>reversed</c>.</summary>
    public const string EnvironmentVariable = "NEURO_GL_VALIDATE";
    /// <summary>Environment variable with the shuffle seed (an integer).</summary>
    public const string SeedEnvironmentVariable = "NEURO_GL_VALIDATE_SEED";
    /// <summary>The bits new and released buffers are filled with: a quiet NaN with a recognizable payload.</summary>
    public const uint NaNPattern = 0x7FC0_0BADu;

    /// <summary>The options <see cref="EnvironmentVariable"/> asks for; null when it is unset, empty or <c>0</c>.</summary>
    /// <exception cref="ArgumentException">The variable or the seed holds something else; the message names it.</exception>
    public static GLValidationOptions? FromEnvironment()
    {
        string? mode = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(mode) || mode == "0") return null;
        string? seedText = Environment.GetEnvironmentVariable(SeedEnvironmentVariable);
        int seed = 1;
        if (!string.IsNullOrEmpty(seedText) && !int.TryParse(seedText, out seed))
            throw new ArgumentException($"{SeedEnvironmentVariable}={seedText} is not an integer");
        return mode.ToLowerInvariant() switch
        {
            "1" or "shuffled" => new GLValidationOptions(WorkGroupOrder.Shuffled, seed),
            "reversed" => new GLValidationOptions(WorkGroupOrder.Reversed, seed),
            _ => throw new ArgumentException($"{EnvironmentVariable}={mode}: expected 1, shuffled or reversed (0 or unset: off)"),
        };
    }
}

/// <summary>The ordering faults validation mode detects (<see cref="GLHazardException.Hazard"/>).</summary>
public enum GLHazard
{
    /// <summary>A kernel uses a storage block whose binding was not set for this dispatch (a stale binding).</summary>
    UnboundBinding,
    /// <summary>One buffer range bound at two bindings of a dispatch where either may be written, and the kernel does
    /// not declare that pair in place.</summary>
    AliasedBinding,
    /// <summary>A kernel reads what an earlier kernel wrote with no <c>GL_SHADER_STORAGE_BARRIER_BIT</c> between them.</summary>
    ReadAfterWriteWithoutBarrier,
    /// <summary>A kernel writes what an earlier kernel read or wrote with no <c>GL_SHADER_STORAGE_BARRIER_BIT</c> between them.</summary>
    WriteAfterAccessWithoutBarrier,
    /// <summary>An upload, clear or copy writes a buffer that an earlier kernel or transfer may still be using (no fence
    /// waited for since): barrier bits do not order a kernel's reads before a later transfer, and drivers reorder transfers.</summary>
    TransferWriteOverPendingWork,
    /// <summary>A kernel reads or writes what an upload, clear or copy wrote or read, with no fence waited for between
    /// them: only kernels and fenced staging are ordered by design.</summary>
    KernelAfterPendingTransfer,
    /// <summary>A transfer or readback reads what a kernel wrote with no <c>GL_BUFFER_UPDATE_BARRIER_BIT</c> since.</summary>
    TransferReadWithoutBarrier,
    /// <summary>The host writes mapped staging memory that the device may still read (its fence has not passed).</summary>
    HostWriteWhileInUse,
    /// <summary>The host reads mapped memory before the fence after the device's write has passed, or with no
    /// <c>GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT</c> after a kernel's write.</summary>
    HostReadBeforeFence,
    /// <summary>A kernel or transfer reads a buffer that nothing wrote since it was created.</summary>
    UninitializedRead,
}

/// <summary>
/// Validation mode (<see cref="GLValidationOptions"/>) found an ordering fault: the message names the kernel or
/// transfer, the buffer (the tensor's name where it holds one) and the hazard, and what happened before.
/// </summary>
/// <param name="hazard">What went wrong.</param>
/// <param name="operation">The kernel or transfer name.</param>
/// <param name="buffer">The buffer's or its tensor's name.</param>
/// <param name="message">The history.</param>
public sealed class GLHazardException(GLHazard hazard, string operation, string buffer, string message) : Exception(message)
{
    /// <summary>What went wrong.</summary>
    public GLHazard Hazard { get; } = hazard;
    /// <summary>The kernel (shader and variant) or transfer that found it, e.g. <c>conv2d.comp [FORWARD;…]</c> or <c>upload</c>.</summary>
    public string Operation { get; } = operation;
    /// <summary>The buffer concerned: its label (the tensor's name for tensor storage).</summary>
    public string Buffer { get; } = buffer;
}
