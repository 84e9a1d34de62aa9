using System.Net.Sockets;
using System.Text;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// An HTTP/1.1 request's head as the live link reads it off a socket: the request line and the headers, at most
/// <see cref="MaxBytes"/> bytes (no body: the link answers GET only). Header names compare case-insensitively; a
/// repeated header keeps its first value.
/// </summary>
internal sealed class HttpHead(string method, string path, IReadOnlyDictionary<string, string> query, IReadOnlyDictionary<string, string> headers)
{
    public const int MaxBytes = 8192;

    public string Method { get; } = method;
    /// <summary>The target's path, without the query.</summary>
    public string Path { get; } = path;
    public IReadOnlyDictionary<string, string> Query { get; } = query;
    public IReadOnlyDictionary<string, string> Headers { get; } = headers;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>Reads a request head; null when the peer closed first, sent more than <see cref="MaxBytes"/> or
    /// something that is not an HTTP request.</summary>
    public static async Task<HttpHead?> ReadAsync(NetworkStream stream, CancellationToken cancel)
    {
        var buffer = new byte[MaxBytes];
        int length = 0, end;
        while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == buffer.Length) return null;
            int read = await stream.ReadAsync(buffer.AsMemory(length), cancel);
            if (read == 0) return null;
            length += read;
        }
        return Parse(Encoding.Latin1.GetString(buffer, 0, end));
    }

    static HttpHead? Parse(string head)
    {
        var lines = head.Split("\r\n");
        var request = lines[0].Split(' ');
        if (request.Length != 3 || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || !request[1].StartsWith('/')) return null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) return null;
            headers.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
        }
        string target = request[1];
        int question = target.IndexOf('?');
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        if (question >= 0)
            foreach (string pair in target[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int equals = pair.IndexOf('=');
                string name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
                query.TryAdd(name, equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' ')));
            }
        return new HttpHead(request[0], question < 0 ? target : target[..question], query, headers);
    }
}
