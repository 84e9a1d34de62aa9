using System.Buffers;
using System.Text.Json;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// A run as a file: one JSON object per line (JSON Lines), in the form <see cref="MonitorJson"/> writes, appended and
/// flushed to the operating system line by line, so a run killed at any moment leaves every line written before it
/// readable (at worst the line being written is cut short; readers skip a last line that does not parse). The format
/// is documented in <c>Documentation~/Monitoring.md</c>. <see cref="Attach"/> writes a monitor's run description and
/// then every sample and evaluation it delivers. Not thread-safe: write from one thread (the monitor's events come on
/// the backend's thread).
/// </summary>
public sealed class MonitorJsonlWriter : IDisposable
{
    readonly FileStream stream;
    readonly ArrayBufferWriter<byte> buffer = new(64 * 1024);
    readonly Utf8JsonWriter json;
    TrainingMonitor? attached;
    bool disposed;

    /// <summary>Opens (creating it if needed) <paramref name="path"/> for appending; with <paramref name="append"/> false an
    /// existing file is replaced.</summary>
    public MonitorJsonlWriter(string path, bool append = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        json = new Utf8JsonWriter(buffer);
    }

    /// <summary>The file written.</summary>
    public string Path { get; }
    /// <summary>Lines written so far.</summary>
    public long Lines { get; private set; }

    /// <summary>Writes <paramref name="monitor"/>'s <see cref="TrainingMonitor.Run"/> now and each of its samples and
    /// evaluations as they are delivered, until this writer is disposed.</summary>
    public void Attach(TrainingMonitor monitor)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (attached is not null) throw new InvalidOperationException($"{Path}: the writer is already attached to a monitor");
        Write(monitor.Run);
        monitor.SampleReady += Write;
        monitor.EvaluationReady += Write;
        attached = monitor;
    }

    /// <summary>Appends the run's description.</summary>
    public void Write(RunDescription run) => WriteLine(run, MonitorJson.Write);

    /// <summary>Appends a training sample.</summary>
    public void Write(TrainingSample sample) => WriteLine(sample, MonitorJson.Write);

    /// <summary>Appends an evaluation.</summary>
    public void Write(EvaluationSample evaluation) => WriteLine(evaluation, MonitorJson.Write);

    /// <summary>Appends the diagnostics in force.</summary>
    public void Write(DiagnosticReport report) => WriteLine(report, MonitorJson.Write);

    /// <summary>Appends a record already serialized by <see cref="MonitorJson"/> (one JSON object, UTF-8, as a live link
    /// sends it; <c>neuro monitor</c> records them).</summary>
    /// <exception cref="ArgumentException">The record is empty or holds a line break (it would not be one line).</exception>
    public void WriteLine(ReadOnlySpan<byte> record)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (record.IsEmpty || record.IndexOfAny((byte)'\n', (byte)'\r') >= 0)
            throw new ArgumentException($"{Path}: a monitor record is one non-empty line of JSON", nameof(record));
        buffer.Clear();
        buffer.Write(record);
        AppendLine();
    }

    void WriteLine<T>(T record, Action<Utf8JsonWriter, T> write)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(record);
        buffer.Clear();
        json.Reset(buffer);
        write(json, record);
        json.Flush();
        AppendLine();
    }

    /// <summary>Ends the buffered record with a line break and writes the whole line in one write.</summary>
    void AppendLine()
    {
        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
        stream.Write(buffer.WrittenSpan);
        stream.Flush();
        Lines++;
    }

    /// <summary>Detaches from the monitor and closes the file. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (attached is not null)
        {
            attached.SampleReady -= Write;
            attached.EvaluationReady -= Write;
        }
        json.Dispose();
        stream.Dispose();
    }
}
