namespace NeuroPlugin.Editor.Server;

/// <summary>
/// What the editor runs in the background, one at a time per kind (a training run, an architecture search): its state
/// (<c>"idle"</c>, <c>"running"</c>, then how it ended), read and written under <see cref="gate"/>, and the dedicated
/// thread that runs it with the cancellation <see cref="Stop"/> sets. A dedicated thread rather than the thread pool:
/// the run makes its backend there, and a GL context belongs to the thread that made it.
/// </summary>
internal abstract class BackgroundRun
{
    /// <summary>The lock over the run's state and everything a subclass reports about it.</summary>
    protected readonly object gate = new();

    /// <summary><c>"idle"</c> before the first run, <c>"running"</c>, then the state the run ended in.</summary>
    protected string state = "idle";

    CancellationTokenSource? cancellation;
    Thread? thread;

    /// <summary>True from a successful start until the run has ended and reported how.</summary>
    public bool IsRunning { get { lock (gate) return state == "running"; } }

    /// <summary>Sets the state to running and starts <paramref name="body"/> on a new background thread called
    /// <paramref name="name"/>, with the token <see cref="Stop"/> cancels. Called under <see cref="gate"/>.</summary>
    protected void StartThread(string name, Action<CancellationToken> body)
    {
        state = "running";
        cancellation = new CancellationTokenSource();
        var token = cancellation.Token;
        thread = new Thread(() => body(token)) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>Asks the running run to stop (a training run between two steps, a search after the candidate in
    /// training); false when nothing is running.</summary>
    public bool Stop()
    {
        lock (gate)
        {
            if (state != "running") return false;
            cancellation!.Cancel();
            return true;
        }
    }

    /// <summary>Waits for the run's thread to end (tests, shutdown); true when it has, or none was started.</summary>
    public bool Wait(TimeSpan timeout)
    {
        Thread? running;
        lock (gate) running = thread;
        return running is null || running.Join(timeout);
    }
}
