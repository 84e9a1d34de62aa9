using NeuroPlugin.Execution;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Monitoring;

/// <summary>Values of a probed tensor as grey images: <see cref="Count"/> images of <see cref="Channels"/> planes of
/// <see cref="Height"/>×<see cref="Width"/>, in (Count, Channels, Height, Width) order.</summary>
/// <param name="Node">The node probed.</param>
/// <param name="Kind">"filters" (a convolution's weights) or "featureMaps" (a node's output for one input).</param>
/// <param name="Count">Images: a convolution's output channels (filters), or 1 (feature maps).</param>
/// <param name="Channels">Planes per image: a filter's input channels per group, or the node's output channels.</param>
/// <param name="Height">Rows of each plane (the kernel height, or the output height; 1 for a rank-2 output).</param>
/// <param name="Width">Columns of each plane (the kernel width, or the output width; 1 below rank 4).</param>
/// <param name="Values">The raw values.</param>
public sealed record ProbeImages(string Node, string Kind, int Count, int Channels, int Height, int Width, float[] Values)
{
    /// <summary>Plane <paramref name="channel"/> of image <paramref name="image"/> scaled to bytes: the image's own minimum
    /// → 0, its maximum → 255 over all its channels (CS231n's filter grids), a constant image mid-grey.</summary>
    public byte[] ToBytes(int image, int channel)
    {
        int plane = Height * Width, size = Channels * plane;
        var values = Values.AsSpan(image * size, size);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
            if (float.IsFinite(v)) { min = Math.Min(min, v); max = Math.Max(max, v); }
        var bytes = new byte[plane];
        var source = values.Slice(channel * plane, plane);
        for (int i = 0; i < plane; i++)
            bytes[i] = !(max > min) || !float.IsFinite(source[i]) ? (byte)128 : (byte)Math.Round(255 * (source[i] - min) / (max - min));
        return bytes;
    }
}

/// <summary>
/// Probes, on request and between steps: a convolution's filters (<see cref="RequestFilters"/>; ZFNet's first look at what
/// a network learned) and the feature maps of any node for one input (<see cref="RequestFeatureMaps(string, ReadOnlySpan{float})"/>:
/// a test image, an uploaded one, or in a game the current frame already on the device). Feature maps come from a
/// batch-1 inference plan (eval mode) sharing the network's weights, made on the first request. Results come back
/// through <see cref="Execution.AsyncReadback"/> and are raised by <see cref="Poll"/> (the monitor polls each step).
/// All calls on the backend's thread.
/// </summary>
public sealed class NetworkProbe : IDisposable
{
    readonly Network network;
    readonly List<(AsyncReadback Readback, ProbeImages Result)> pending = [];
    ExecutionPlan? single;
    bool disposed;

    /// <summary>A probe of <paramref name="network"/>'s filters and feature maps; allocates nothing until the first request.</summary>
    public NetworkProbe(Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        this.network = network;
        FirstConvolution = network.Graph.Nodes.FirstOrDefault(node => node.Layer is Conv2d)?.Name;
    }

    /// <summary>The first convolution of the graph (in topological order); null when it has none.</summary>
    public string? FirstConvolution { get; }

    /// <summary>Raised by <see cref="Poll"/> or <see cref="Wait"/> for each finished request.</summary>
    public event Action<ProbeImages>? Ready;

    /// <summary>Requests the filters of convolution <paramref name="node"/> (the first one when null): its weight
    /// (O, C/G, KH, KW) as O images of C/G planes.</summary>
    /// <exception cref="GraphException">No such convolution.</exception>
    public void RequestFilters(string? node = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        node ??= FirstConvolution ?? throw new GraphException("the network has no convolution whose filters could be shown");
        if (network.Graph.Nodes.FirstOrDefault(n => n.Name == node)?.Layer is not Conv2d)
            throw new GraphException($"'{node}' is not a convolution of the network: no filters to show");
        var weight = network.Parameter(node + ".weight");
        var shape = weight.Shape;
        Queue(weight, new ProbeImages(node, "filters", shape[0], shape[1], shape[2], shape[3], []));
    }

    /// <summary>Requests node <paramref name="node"/>'s output for one input <paramref name="image"/> (the graph input's
    /// item shape, normalized as in training) as one image of C planes; a rank-2 output (N,K) gives K planes of 1×1.</summary>
    public void RequestFeatureMaps(string node, ReadOnlySpan<float> image)
    {
        var plan = SinglePlan();
        plan.Input.Upload(image);
        RunAndQueue(plan, node);
    }

    /// <summary>As <see cref="RequestFeatureMaps(string, ReadOnlySpan{float})"/> with an input already on the device (a
    /// game's current frame from <c>TextureInput</c>): its first item is copied on the device, nothing crosses the bus.</summary>
    public void RequestFeatureMaps(string node, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = SinglePlan();
        if (input.Length < plan.Input.Length)
            throw new ShapeException($"feature maps of '{node}': input '{input.Name}' {input.Shape} is smaller than one item {plan.Input.Shape}");
        network.Backend.CopyRange(input, 0, plan.Input, 0, plan.Input.Length);
        RunAndQueue(plan, node);
    }

    ExecutionPlan SinglePlan()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return single ??= ExecutionPlan.ForInference(network, 1, fuseLayers: false); // any node's output is read, which a fused plan skips
    }

    void RunAndQueue(ExecutionPlan plan, string node)
    {
        var output = plan.Tensor(node);
        plan.Forward();
        var shape = output.Shape;
        Queue(output, new ProbeImages(node, "featureMaps", 1, shape[1], shape.Rank >= 3 ? shape[2] : 1, shape.Rank == 4 ? shape[3] : 1, []));
    }

    /// <summary>Queues the readback of <paramref name="source"/> into a new result shaped as <paramref name="shape"/>.</summary>
    void Queue(Tensor source, ProbeImages shape)
    {
        var readback = new AsyncReadback(network.Backend, source.Length, slots: 1);
        try
        {
            readback.Request(source);
        }
        catch
        {
            readback.Dispose();
            throw;
        }
        pending.Add((readback, shape with { Values = new float[source.Length] }));
    }

    /// <summary>The filters of convolution <paramref name="node"/> (the first one when null), now: requests them and waits
    /// for their values (a blocking wait, between steps). Also raised through <see cref="Ready"/>.</summary>
    public ProbeImages ReadFilters(string? node = null)
    {
        RequestFilters(node);
        return WaitForLatest();
    }

    /// <summary>Node <paramref name="node"/>'s feature maps for <paramref name="image"/>, now (see
    /// <see cref="RequestFeatureMaps(string, ReadOnlySpan{float})"/>; a blocking wait, between steps).</summary>
    public ProbeImages ReadFeatureMaps(string node, ReadOnlySpan<float> image)
    {
        RequestFeatureMaps(node, image);
        return WaitForLatest();
    }

    /// <summary>Waits for every pending request; returns the result of the latest one.</summary>
    ProbeImages WaitForLatest()
    {
        var latest = pending[^1].Result;
        Wait();
        return latest;
    }

    /// <summary>Raises <see cref="Ready"/> for every request whose values have arrived, in request order; never waits.</summary>
    public void Poll() => Deliver(wait: false);

    /// <summary>Waits for every pending request and raises <see cref="Ready"/> for each.</summary>
    public void Wait() => Deliver(wait: true);

    void Deliver(bool wait)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (pending.Count > 0)
        {
            var (readback, result) = pending[0];
            if (wait) readback.Read(result.Values);
            else if (!readback.TryRead(result.Values)) return;
            readback.Dispose();
            pending.RemoveAt(0);
            Ready?.Invoke(result);
        }
    }

    /// <summary>Drops pending requests and releases the batch-1 plan. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var (readback, _) in pending) readback.Dispose();
        pending.Clear();
        single?.Dispose();
    }
}
