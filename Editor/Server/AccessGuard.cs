using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The first middleware of <c>neuro serve</c>: every request (static files and the WebSocket included) must name this
/// loopback server in <c>Host</c> (else 421: a DNS-rebinding page reaches us under its own name), carry no foreign
/// <c>Origin</c> (else 403: another site's script or WebSocket), and present the session token in the header
/// <c>X-Neuro-Token</c>, the query <c>token</c> or the cookie <c>neuro_token_PORT</c> (else 401). A valid query token
/// sets the cookie (HttpOnly, SameSite=Strict), so the page's own requests authenticate without the query.
/// </summary>
internal sealed class AccessGuard(string token, Func<int> port)
{
    public const string HeaderName = "X-Neuro-Token";
    public const string QueryName = "token";
    public static string CookieName(int port) => $"neuro_token_{port}";

    readonly byte[] expected = Encoding.UTF8.GetBytes(token);

    /// <summary>A fresh session token: 32 random bytes, base64url without padding.</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        int p = port();
        string host = context.Request.Host.Value ?? "";
        if (host != $"127.0.0.1:{p}" && host != $"localhost:{p}")
        {
            await ErrorResponse.Write(context, StatusCodes.Status421MisdirectedRequest, $"Host '{host}' is not this editor server (127.0.0.1:{p})");
            return;
        }
        string? origin = context.Request.Headers.Origin;
        if (origin is not null && origin != $"http://127.0.0.1:{p}" && origin != $"http://localhost:{p}")
        {
            await ErrorResponse.Write(context, StatusCodes.Status403Forbidden, $"Origin '{origin}' may not use this editor server");
            return;
        }
        string? fromQuery = context.Request.Query[QueryName];
        string? presented = (string?)context.Request.Headers[HeaderName] ?? fromQuery ?? context.Request.Cookies[CookieName(p)];
        if (presented is null)
        {
            await ErrorResponse.Write(context, StatusCodes.Status401Unauthorized, "the editor's session token is missing (open the URL neuro serve printed)");
            return;
        }
        if (!Matches(presented))
        {
            await ErrorResponse.Write(context, StatusCodes.Status401Unauthorized, "the editor's session token is wrong (open the URL neuro serve printed)");
            return;
        }
        if (fromQuery is not null && fromQuery == presented)
            context.Response.Cookies.Append(CookieName(p), token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", Secure = false });
        await next(context);
    }

    bool Matches(string presented) => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), expected);
}

/// <summary>The protocol's error body: <c>{ "error": "…" }</c> with a 4xx/5xx status.</summary>
internal static class ErrorResponse
{
    /// <summary>Answers <c>{ "error": message }</c>, with <c>"field"</c> (the request field at fault) when there is one.</summary>
    public static Task Write(HttpContext context, int status, string message, string? field = null)
    {
        context.Response.StatusCode = status;
        return field is null ? context.Response.WriteAsJsonAsync(new { error = message }) : context.Response.WriteAsJsonAsync(new { error = message, field });
    }
}
