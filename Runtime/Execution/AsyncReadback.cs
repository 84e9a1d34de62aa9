using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Backends.OpenGL;

namespace NeuroPlugin.Execution;

/// <summary>
/// Results out of the device without stalling the game: <see cref="Request"/> queues a device-side copy of a tensor
/// into a staging slot and a fence after it; <see cref="TryRead(Span{float})"/> polls the oldest request's fence with a
/// zero timeout and copies its values out only once the GPU has finished, so a frame never waits (the values arrive a
/// frame or two later). <see cref="Read(Span{float})"/> is the blocking version, for a caller that asks to wait.
/// <para>Requests complete in order (first in, first out) and up to <see cref="Slots"/> may be in flight. On the GL
/// backend the slots are one persistently mapped buffer (<see cref="GLReadbackBuffer"/>, MAP_READ | PERSISTENT |
/// COHERENT) and one <see cref="GLFence"/> each; on the CPU backend a request completes at once (the values are copied
/// into the slot). Everything is allocated by the constructor: requests and reads allocate nothing, and nothing calls
/// <c>glFinish</c>. Not counted in <see cref="IBackend.ReadbackCount"/>, which counts the synchronous downloads.</para>
/// All calls on the backend's thread.
/// </summary>
public sealed class AsyncReadback : IDisposable
{
    readonly GLBackend? gl;
    readonly GLReadbackBuffer? staging;
    readonly GLFence[]? fences;
    readonly float[]? host;
    readonly long[] requestIds;
    int oldest, pending;
    long nextRequestId;
    bool disposed;

    /// <summary>A readback of tensors of <paramref name="length"/> values with <paramref name="slots"/> requests in flight at most.</summary>
    /// <exception cref="ArgumentOutOfRangeException">length or slots is less than 1.</exception>
    public AsyncReadback(IBackend backend, int length, int slots = 3)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Backend = backend;
        Length = length;
        Slots = slots;
        requestIds = new long[slots];
        if (backend is GLBackend glBackend)
        {
            gl = glBackend;
            staging = new GLReadbackBuffer(glBackend.Device, checked(length * slots));
            fences = new GLFence[slots];
            for (int i = 0; i < slots; i++) fences[i] = new GLFence(glBackend.Device);
        }
        else
        {
            host = new float[checked(length * slots)];
        }
    }

    /// <summary>The backend whose tensors this reads.</summary>
    public IBackend Backend { get; }
    /// <summary>Values per request.</summary>
    public int Length { get; }
    /// <summary>The most requests in flight at once.</summary>
    public int Slots { get; }
    /// <summary>Requests made and not yet read.</summary>
    public int PendingCount => pending;
    /// <summary>Requests made so far; the next request gets this number.</summary>
    public long RequestCount => nextRequestId;

    /// <summary>
    /// Queues a copy of <paramref name="source"/> (any shape of <see cref="Length"/> values) as it will be once every
    /// command issued so far has run; returns the request's number (0, 1, 2, … in request order). Does not wait.
    /// </summary>
    /// <exception cref="ShapeException">The source has another length; names the tensor and both lengths.</exception>
    /// <exception cref="ArgumentException">The source lives on another backend.</exception>
    /// <exception cref="InvalidOperationException">All <see cref="Slots"/> requests are still unread.</exception>
    public long Request(Tensor source)
    {
        EnsureUsable();
        ArgumentNullException.ThrowIfNull(source);
        if (!ReferenceEquals(source.Backend, Backend))
            throw new ArgumentException($"source '{source.Name}' lives on backend '{source.Backend.Name}', this readback reads backend '{Backend.Name}'", nameof(source));
        if (source.Length != Length)
            throw new ShapeException($"source '{source.Name}' {source.Shape} has {source.Length} values, this readback takes {Length}");
        if (pending == Slots)
            throw new InvalidOperationException($"all {Slots} readback slots are in flight: read the oldest (TryRead/Read) before requesting more, or make the AsyncReadback with more slots");
        int slot = (oldest + pending) % Slots;
        if (gl is not null)
        {
            gl.CopyToReadback(source, staging!, slot * Length);
            fences![slot].Insert();
        }
        else
        {
            var destination = host.AsSpan(slot * Length, Length);
            if (Backend is CpuBackend) CpuBackend.ReadOnlyData(source).CopyTo(destination);
            else Backend.Download(source, destination);
        }
        requestIds[slot] = nextRequestId;
        pending++;
        return nextRequestId++;
    }

    /// <summary>If the oldest request has completed, copies its values into <paramref name="destination"/> (exactly
    /// <see cref="Length"/> floats), frees its slot and returns true; otherwise (still running, or nothing requested)
    /// returns false at once. Never waits for the GPU.</summary>
    public bool TryRead(Span<float> destination) => TryRead(destination, out _);

    /// <summary>As <see cref="TryRead(Span{float})"/>, also giving the number <see cref="Request"/> returned for the values.</summary>
    public bool TryRead(Span<float> destination, out long request)
    {
        EnsureUsable();
        CheckDestination(destination);
        request = -1;
        if (pending == 0) return false;
        if (fences is not null && !fences[oldest].IsSignaled) return false;
        request = TakeOldest(destination);
        return true;
    }

    /// <summary>Waits until the oldest request has completed (a blocking wait the caller asked for), copies its values into
    /// <paramref name="destination"/> and returns its number.</summary>
    /// <exception cref="InvalidOperationException">Nothing was requested.</exception>
    public long Read(Span<float> destination)
    {
        EnsureUsable();
        CheckDestination(destination);
        if (pending == 0) throw new InvalidOperationException("no readback is pending: call Request first");
        fences?[oldest].Wait();
        return TakeOldest(destination);
    }

    long TakeOldest(Span<float> destination)
    {
        int slot = oldest;
        if (staging is not null)
        {
            staging.Read(slot * Length, Length).CopyTo(destination);
            fences![slot].Release();
        }
        else
        {
            host.AsSpan(slot * Length, Length).CopyTo(destination);
        }
        oldest = (oldest + 1) % Slots;
        pending--;
        return requestIds[slot];
    }

    void CheckDestination(Span<float> destination)
    {
        if (destination.Length != Length)
            throw new ArgumentException($"destination holds {destination.Length} floats, this readback gives {Length}", nameof(destination));
    }

    void EnsureUsable() => ObjectDisposedException.ThrowIf(disposed, this);

    /// <summary>Deletes the staging buffer and the fences (pending requests are dropped). Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (fences is not null)
            foreach (var fence in fences) fence.Dispose();
        staging?.Dispose();
    }
}
