namespace NeuroPlugin.Serialization;

/// <summary>Reading a stream of unknown length into memory without letting it decide how much memory that takes.</summary>
internal static class BoundedRead
{
    /// <summary>The rest of <paramref name="stream"/> in memory (position 0), or null when it holds more than
    /// <paramref name="limit"/> bytes: the read stops one byte past the limit, so a stream that never ends (a pipe,
    /// <c>/dev/zero</c>) or one that grew after it was measured cannot make it allocate more.</summary>
    public static MemoryStream? ToMemory(Stream stream, long limit)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limit + 1 - buffer.Length))) > 0)
            buffer.Write(chunk, 0, read);
        if (buffer.Length > limit) return null;
        buffer.Position = 0;
        return buffer;
    }
}
