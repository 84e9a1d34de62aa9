using System.Buffers;
using System.Text.Json;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// The feed's latest messages as JSON, serialized once for all the link's clients: the first client to send message
/// number n serializes it into slot <c>n mod slots</c>, every other client copies the bytes from there. Runs on the
/// clients' threads, never the game's; one lock, held while a message is serialized or copied. Memory is the slots'
/// buffers (each as large as the largest message it held), allocated once and reused.
/// </summary>
internal sealed class SerializedMessages
{
    readonly object gate = new();
    readonly long[] numbers;
    readonly ArrayBufferWriter<byte>[] buffers;
    readonly Utf8JsonWriter json = new(new ArrayBufferWriter<byte>(1));

    public SerializedMessages(int slots)
    {
        numbers = new long[slots];
        Array.Fill(numbers, -1);
        buffers = new ArrayBufferWriter<byte>[slots];
        for (int i = 0; i < slots; i++) buffers[i] = new ArrayBufferWriter<byte>(16 * 1024);
    }

    /// <summary>Appends feed message number <paramref name="number"/> (<paramref name="message"/>) as JSON to
    /// <paramref name="into"/>, serializing it only if no client did since it was published.</summary>
    public void CopyTo(long number, object message, IBufferWriter<byte> into)
    {
        lock (gate)
        {
            int slot = (int)(number % numbers.Length);
            var buffer = buffers[slot];
            if (numbers[slot] != number)
            {
                buffer.Clear();
                json.Reset(buffer);
                LiveMessages.Write(json, message);
                json.Flush();
                numbers[slot] = number;
            }
            into.Write(buffer.WrittenSpan);
        }
    }
}
