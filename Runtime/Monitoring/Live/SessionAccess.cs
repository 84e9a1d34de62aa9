using System.Security.Cryptography;
using System.Text;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// The access rules a local NeuroPlugin server applies to every request, shared by the editor (<c>neuro serve</c>) and a
/// game's <see cref="LiveLink"/>: the request's <c>Host</c> must name this server (else a DNS-rebinding page reaches it
/// under its own name), an <c>Origin</c>, when present, must be the server's own (else another site's script or
/// WebSocket), and the per-session token must match (compared in constant time).
/// </summary>
public static class SessionAccess
{
    /// <summary>The request header that carries the token.</summary>
    public const string TokenHeader = "X-Neuro-Token";
    /// <summary>The query parameter that carries the token.</summary>
    public const string TokenQuery = "token";

    /// <summary>A fresh session token: 32 random bytes, base64url without padding (43 characters).</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Whether <paramref name="presented"/> is <paramref name="token"/>, in time independent of where they differ.</summary>
    public static bool TokenMatches(string? presented, string token) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token));

    /// <summary>Whether a <c>Host</c> header names this server: <c>127.0.0.1:PORT</c> or <c>localhost:PORT</c>, or
    /// <c>HOST:PORT</c> for one of <paramref name="extraHosts"/> (the address a server was explicitly bound to).</summary>
    public static bool HostAllowed(string? host, int port, IEnumerable<string>? extraHosts = null)
    {
        if (host is null) return false;
        if (host == $"127.0.0.1:{port}" || host == $"localhost:{port}") return true;
        return extraHosts?.Any(extra => host == $"{extra}:{port}") == true;
    }

    /// <summary>Whether an <c>Origin</c> header may use this server: none (a program, not a page), the server's own
    /// (<c>http://127.0.0.1:PORT</c>, <c>http://localhost:PORT</c>), or one of <paramref name="extraOrigins"/> given
    /// explicitly.</summary>
    public static bool OriginAllowed(string? origin, int port, IEnumerable<string>? extraOrigins = null)
    {
        if (origin is null || origin == $"http://127.0.0.1:{port}" || origin == $"http://localhost:{port}") return true;
        return extraOrigins?.Contains(origin, StringComparer.Ordinal) == true;
    }
}
