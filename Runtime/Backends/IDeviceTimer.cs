namespace NeuroPlugin.Backends;

/// <summary>
/// A ring of device timestamps (GL: timer queries, <c>glQueryCounter(GL_TIMESTAMP)</c>). <see cref="Record"/> marks the
/// point in the command stream where the device has finished every command issued before it; <see cref="TryRead"/>
/// asks, without waiting, whether that point has been reached and at what time. The difference of two timestamps is
/// the device time spent between them (including any time the device sat idle waiting for commands).
/// Because a timestamp is only written once all earlier commands completed, an available timestamp also works as a
/// fence: whatever was issued before it (a copy into a staging tensor) is finished and can be read without a stall.
/// Records and reads allocate nothing; all calls come from the thread that owns the device.
/// </summary>
public interface IDeviceTimer : IDisposable
{
    /// <summary>Number of slots.</summary>
    int Capacity { get; }

    /// <summary>Records a timestamp into <paramref name="slot"/> (0 ≤ slot &lt; <see cref="Capacity"/>), replacing an
    /// earlier one whether or not it was read.</summary>
    void Record(int slot);

    /// <summary>Non-blocking: true and the timestamp in nanoseconds when the slot's last <see cref="Record"/> has
    /// completed on the device; false when it has not yet (or the slot was never recorded).</summary>
    bool TryRead(int slot, out long nanoseconds);

    /// <summary>Submits the commands recorded so far to the device (<c>glFlush</c>), so the last timestamps complete
    /// without waiting for a later flush: a headless loop may never swap buffers, and a driver may hold a partly filled
    /// command buffer indefinitely. Does not wait.</summary>
    void Flush();
}
