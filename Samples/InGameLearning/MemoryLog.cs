using System.Globalization;
using NeuroPlugin.Backends.OpenGL;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>
/// <c>--memory-log FILE</c>: a CSV row every N frames, so a long run shows whether memory stays flat once the game is
/// warm. Columns: <c>frame</c>; <c>managed_bytes</c>, the managed heap after a full collection (what the process still
/// holds; the collection runs outside the timed part of the frame); <c>allocated_bytes</c>, bytes allocated on the
/// managed heap since the start (its slope is the per-frame allocation rate); <c>gl_objects</c>, the device's live GL
/// objects (buffers, programs, queries, samplers, fences; the renderer's own are created once); <c>rss_bytes</c>, the
/// process's resident set (managed, native, and the driver's memory: llvmpipe's GPU memory is host memory).
/// </summary>
public sealed class MemoryLog : IDisposable
{
    readonly StreamWriter writer;
    readonly GLDevice device;

    public MemoryLog(string path, GLDevice device)
    {
        this.device = device;
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        writer = new StreamWriter(path, append: false) { AutoFlush = true };
        writer.WriteLine("frame,managed_bytes,allocated_bytes,gl_objects,rss_bytes");
    }

    /// <summary>Writes the row of <paramref name="frame"/>.</summary>
    public void Sample(int frame)
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{frame},{managed},{GC.GetTotalAllocatedBytes(precise: true)},{device.LiveObjectCount},{Environment.WorkingSet}"));
    }

    public void Dispose() => writer.Dispose();
}
