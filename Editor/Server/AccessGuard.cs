using Microsoft.AspNetCore.Http;
using NeuroPlugin.Monitoring.Live;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The first middleware of <c>neuro serve</c>: every request (static files and the WebSocket included) must name this
/// loopback server in <c>Host</c> (else 421: a DNS-rebinding page reaches us under its own name), carry no foreign
/// <c>Origin</c> (else 403: another site's script or WebSocket), and present the session token in the header
/// <c>X-Neuro-Token</c>, the query <c>token</c> or the cookie <c>neuro_token_PORT</c> (else 401). A valid query token
/// sets the cookie (HttpOnly, SameSite=Strict), so the page's own requests authenticate without the query. The rules
/// themselves are <see cref="SessionAccess"/>'s, shared with a game's live link.
/// </summary>
internal sealed class AccessGuard(string token, Func<int> port)
{
    public const string HeaderName = SessionAccess.TokenHeader;
    public const string QueryName = SessionAccess.TokenQuery;
    public static string CookieName(int port) => $"neuro_token_{port}";

    /// <summary>A fresh session token (<see cref="SessionAccess.NewToken"/>).</summary>
    public static string NewToken() => SessionAccess.NewToken();

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        int p = port();
        string host = context.Request.Host.Value ?? "";
        if (!SessionAccess.HostAllowed(host, p))
        {
            await ErrorResponse.Write(context, StatusCodes.Status421MisdirectedRequest, $"Host '{host}' is not this editor server (127.0.0.1:{p})");
            return;
        }
        string? origin = context.Request.Headers.Origin;
        if (!SessionAccess.OriginAllowed(origin, p))
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
        if (!SessionAccess.TokenMatches(presented, token))
        {
            await ErrorResponse.Write(context, StatusCodes.Status401Unauthorized, "the editor's session token is wrong (open the URL neuro serve printed)");
            return;
        }
        if (fromQuery is not null && fromQuery == presented)
            context.Response.Cookies.Append(CookieName(p), token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", Secure = false });
        await next(context);
    }
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
