namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// The last <see cref="Capacity"/> items published, numbered from 0, for readers that each keep their own cursor: the
/// writer (the game thread) only stores into a fixed ring under a short lock, never waits for a reader and never
/// allocates; a reader that fell more than <see cref="Capacity"/> behind skips to the oldest item kept and learns how
/// many it missed. Memory is the ring, whatever the readers do.
/// </summary>
internal sealed class BoundedFeed<T>(int capacity)
{
    readonly object gate = new();
    readonly T[] items = new T[capacity];
    long written;

    public int Capacity => items.Length;

    /// <summary>Items published so far (the next item's number).</summary>
    public long Written { get { lock (gate) return written; } }

    /// <summary>Publishes <paramref name="item"/>; returns its number.</summary>
    public long Add(in T item)
    {
        lock (gate)
        {
            items[written % items.Length] = item;
            return written++;
        }
    }

    /// <summary>Copies the items from <paramref name="cursor"/> on into <paramref name="into"/> (as many as fit) and
    /// advances the cursor; <paramref name="missed"/> counts the items the cursor had fallen behind (no longer kept).</summary>
    public int Read(ref long cursor, T[] into, out long missed)
    {
        lock (gate)
        {
            long oldest = Math.Max(0, written - items.Length);
            missed = Math.Max(0, oldest - cursor);
            cursor = Math.Max(cursor, oldest);
            int count = (int)Math.Min(written - cursor, into.Length);
            for (int i = 0; i < count; i++) into[i] = items[(cursor + i) % items.Length];
            cursor += count;
            return count;
        }
    }
}
