using System.Net;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>How a game's <see cref="LiveLink"/> listens and what it allows.</summary>
public sealed record LiveLinkOptions
{
    /// <summary>TCP port; 0 takes a free one (read it from <see cref="LiveLink.Port"/>).</summary>
    public int Port { get; init; }

    /// <summary>The address to listen on: loopback (127.0.0.1) by default. Any other address is an explicit choice that
    /// exposes the link to the network (the token still guards it); <see cref="LiveLink.Start"/> then prints a warning
    /// through <see cref="Warning"/>.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The session token; default a fresh random one (<see cref="SessionAccess.NewToken"/>).</summary>
    public string? Token { get; init; }

    /// <summary>Lets the first connected client steer training: pause and resume, change the learning rate, take a
    /// checkpoint now. Off by default: every client is read-only. A second client is always read-only.</summary>
    public bool EnableControl { get; init; }

    /// <summary>Takes a checkpoint when a controlling client asks (<c>checkpoint</c>), on the game thread at the end of a
    /// frame; returns the path written. Null: the request is refused.</summary>
    public Func<string>? Checkpoint { get; init; }

    /// <summary>The monitor attached when the trainer carries none (a game samples more often than a long CLI run:
    /// every 10 steps by default).</summary>
    public MonitorOptions Monitor { get; init; } = new() { Every = 10 };

    /// <summary>Page origins allowed besides the link's own (<c>http://127.0.0.1:PORT</c>), e.g. a tool's page that
    /// connects from the browser. Requests without an <c>Origin</c> (programs, the editor's server) are allowed.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Frame timings kept for clients (a client that falls further behind skips to the oldest kept and is told
    /// how many it missed). Default 600: ten seconds at 60 frames/s.</summary>
    public int FrameCapacity { get; init; } = 600;

    /// <summary>Samples, evaluations, probe results and events kept for clients, the same way. Default 64.</summary>
    public int MessageCapacity { get; init; } = 64;

    /// <summary>How often each client's sender looks for new frames and messages. Default 100 ms.</summary>
    public TimeSpan SendInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest one send may take before the client is dropped (it stopped reading). Default 10 s.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Clients connected at once; more are answered 503. Default 4.</summary>
    public int MaxClients { get; init; } = 4;

    /// <summary>Where warnings go (binding to a non-loopback address); default standard error.</summary>
    public Action<string> Warning { get; init; } = message => Console.Error.WriteLine(message);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, IPEndPoint.MaxPort);
        ArgumentNullException.ThrowIfNull(Address);
        ArgumentNullException.ThrowIfNull(Monitor);
        Monitor.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(FrameCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MessageCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxClients, 1);
        if (SendInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(SendInterval), SendInterval, "the send interval must be positive");
        if (SendTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(SendTimeout), SendTimeout, "the send timeout must be positive");
        if (Token is { Length: < 16 }) throw new ArgumentException("a live link token needs at least 16 characters", nameof(Token));
    }
}
