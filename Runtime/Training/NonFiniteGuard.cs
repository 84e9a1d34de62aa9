using NeuroPlugin.Execution;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Training;

/// <summary>What kind of tensor a <see cref="NonFiniteGuard"/> found NaN or ±∞ in.</summary>
public enum NonFiniteTensorKind
{
    /// <summary>A graph input (the batch itself was bad).</summary>
    Input,
    /// <summary>A parameter's values as the step's forward used them (an earlier update overflowed: learning rate too large?).</summary>
    Parameter,
    /// <summary>A node's output in the forward pass.</summary>
    Activation,
    /// <summary>The training loss.</summary>
    Loss,
    /// <summary>A parameter's gradient.</summary>
    Gradient,
}

/// <summary>One tensor that held NaN or ±∞: its name (<c>conv2</c> for an activation, <c>conv2.weight</c> for that
/// parameter or its gradient, <c>loss</c>), what it is, and the node (layer) it belongs to (the input's name for inputs).</summary>
public readonly record struct NonFiniteTensor(string Name, NonFiniteTensorKind Kind, string Layer)
{
    /// <summary>The name and what it is, e.g. <c>conv2.weight (gradient)</c>, <c>conv2 (output)</c>, <c>loss</c>.</summary>
    public override string ToString() => Kind switch
    {
        NonFiniteTensorKind.Gradient => $"{Name} (gradient)",
        NonFiniteTensorKind.Activation => $"{Name} (output)",
        NonFiniteTensorKind.Input => $"{Name} (input)",
        NonFiniteTensorKind.Parameter => $"{Name} (weights)",
        _ => Name,
    };
}

/// <summary>
/// The first training step whose loss or gradients were not finite, as the device latched it. Its update and every
/// later one until <see cref="NonFiniteGuard"/> handed the report over were skipped on the device; the weights and
/// the optimizer's state are those after update <c>Step − 1</c>.
/// </summary>
/// <param name="Step">The optimizer step t whose update was skipped first (<see cref="Optimizer.StepCount"/> is set
/// back to <c>Step − 1</c>).</param>
/// <param name="Tensors">Every watched tensor that held NaN or ±∞ in that step, in data-flow order: inputs, parameters,
/// node outputs in forward order, the loss, then parameter gradients in backward order (the layer nearest the loss first).</param>
/// <param name="SkippedUpdates">Updates skipped on the device: the bad one and those queued before the host learned of it.</param>
public sealed record NonFiniteReport(long Step, IReadOnlyList<NonFiniteTensor> Tensors, long SkippedUpdates)
{
    /// <summary>Where the non-finite values appeared first in the data flow: the first of <see cref="Tensors"/>.</summary>
    public NonFiniteTensor Origin => Tensors[0];

    /// <summary>The layer (node name) that went bad: <see cref="Origin"/>'s layer.</summary>
    public string Layer => Origin.Layer;

    /// <summary>One sentence for logs and exception messages: the step, the first bad tensor and its layer, the
    /// others, and how many updates were skipped.</summary>
    public override string ToString() =>
        $"non-finite values (NaN or ±∞) at training step {Step}: first in {Origin} of layer '{Layer}'" +
        (Tensors.Count > 1 ? $"; also in {string.Join(", ", Tensors.Skip(1))}" : "") +
        $". {SkippedUpdates} update(s) skipped; the weights and optimizer state are those of step {Step - 1}";
}

/// <summary>Thrown when training produced NaN or ±∞ and nobody handled the report (<see cref="FrameBudgetedTrainer.NonFiniteDetected"/>).</summary>
public sealed class NonFiniteException : Exception
{
    /// <summary>The exception for <paramref name="report"/>; its message is the report's <see cref="NonFiniteReport.ToString"/>.</summary>
    public NonFiniteException(NonFiniteReport report) : base(report.ToString()) => Report = report;

    /// <summary>The step, the layer and every bad tensor.</summary>
    public NonFiniteReport Report { get; }
}

/// <summary>
/// Keeps NaN and ±∞ out of the weights without reading anything back per step. After <see cref="ExecutionPlan.ComputeGradients"/>,
/// <see cref="Check"/> runs on the device: one flag per watched tensor (with <c>watchForward</c> the graph inputs, the
/// parameters and every node output; always the loss and every parameter gradient) is set when the tensor holds a non-finite value, and
/// the first step with any flag is latched, with its flags, into a small report tensor (<see cref="IBackend.LatchNonFinite"/>).
/// The optimizer's update rules read the report's first word on the device and skip the update while it is set
/// (<see cref="IBackend.UpdateGuard"/>), so the bad step and every later one leave weights and optimizer state untouched.
/// <para>The host learns of it asynchronously: <see cref="Poll"/> requests a copy of the report through an
/// <see cref="AsyncReadback"/> (on GL a persistently mapped buffer and a fence) and on a later call reads it only once
/// the fence has passed, so no call waits for the GPU or asks the driver for a buffer's contents. On the CPU backend
/// the copy is done at once. When
/// the report shows a bad step t, Poll sets <see cref="Optimizer.StepCount"/> back to t − 1 (the skipped updates never
/// happened, so Adam's bias correction continues from the last applied step), clears the report on the device, and
/// returns it: training goes on from the last good weights with the next batch.</para>
/// <para>Call Poll (or <see cref="ReadNow"/>) only between steps: the rewind and the clear must come after every
/// skipped step's update and before the next step's. Skipped steps still used their numbers of
/// <see cref="ExecutionPlan.RandomCounter"/> (dropout masks), so the next step draws fresh ones.</para>
/// <para>The network's buffers (batch normalization's running mean and variance) are updated by the training forward pass,
/// before any check can run, so they are guarded by a device copy of their last good values: <see cref="Check"/> copies
/// them back once the report is latched, and otherwise keeps them as the new copy (<see cref="IBackend.RestoreOrSave"/>),
/// so a bad step, and every later one until the report is handed over, leaves them as they were, as it leaves the
/// weights. <see cref="SaveStatistics"/> takes the copy at a step's start (the trainer and <see cref="TrainStep"/> do),
/// so values set between steps (a restored checkpoint) count as good.</para>
/// </summary>
public sealed class NonFiniteGuard : IDisposable
{
    readonly ExecutionPlan plan;
    readonly Optimizer optimizer;
    readonly IBackend backend;
    readonly Tensor[] watched;
    readonly int[] flagIndices; // watched[i] sets flag i
    readonly NonFiniteTensor[] descriptions;
    readonly Tensor flags, report;
    readonly AsyncReadback readback;
    readonly float[] reportValues;
    readonly Tensor[] parameters, gradients;
    readonly Tensor[] statistics, savedStatistics; // the network's buffers and their copy from the step's start
    bool disposed;

    /// <param name="plan">A training plan.</param>
    /// <param name="optimizer">The optimizer that updates the plan's parameters; the guard attaches to it until disposed.</param>
    /// <param name="watchForward">Also watch the graph inputs, the parameters and every node output, so the report names
    /// where the values went bad in the forward pass — a bad batch, weights an overflowing update left infinite, or the
    /// layer whose output overflowed (one more pass over each of them per step); otherwise only the loss and the
    /// gradients are watched.</param>
    public NonFiniteGuard(ExecutionPlan plan, Optimizer optimizer, bool watchForward = true)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!plan.IsTraining) throw new ArgumentException("the non-finite guard needs a plan made by ExecutionPlan.ForTraining", nameof(plan));
        if (optimizer.SkipFlag is not null) throw new InvalidOperationException($"{optimizer.Name}: the optimizer already has a non-finite guard");
        this.plan = plan;
        this.optimizer = optimizer;
        WatchesForward = watchForward;
        backend = plan.Network.Backend;
        parameters = [.. plan.Parameters];
        gradients = [.. plan.ParameterGradients];

        var tensors = new List<Tensor>();
        var names = new List<NonFiniteTensor>();
        if (watchForward)
        {
            foreach (var input in plan.Network.Graph.Inputs)
            {
                tensors.Add(plan.Tensor(input.Name));
                names.Add(new NonFiniteTensor(input.Name, NonFiniteTensorKind.Input, input.Name));
            }
            foreach (var parameter in parameters)
            {
                tensors.Add(parameter);
                names.Add(new NonFiniteTensor(parameter.Name, NonFiniteTensorKind.Parameter, LayerOf(parameter.Name)));
            }
            foreach (var node in plan.Network.Graph.Nodes)
            {
                tensors.Add(plan.Tensor(node.Name));
                names.Add(new NonFiniteTensor(node.Name, NonFiniteTensorKind.Activation, node.Name));
            }
        }
        tensors.Add(plan.Loss!);
        names.Add(new NonFiniteTensor("loss", NonFiniteTensorKind.Loss, "loss"));
        for (int i = parameters.Length - 1; i >= 0; i--) // backward order: the layer nearest the loss first
        {
            tensors.Add(gradients[i]);
            names.Add(new NonFiniteTensor(parameters[i].Name, NonFiniteTensorKind.Gradient, LayerOf(parameters[i].Name)));
        }
        watched = [.. tensors];
        descriptions = [.. names];
        flagIndices = [.. Enumerable.Range(0, watched.Length)];

        flags = backend.Allocate(new TensorShape(watched.Length), "nonfinite.flags");
        report = backend.Allocate(new TensorShape(watched.Length + 1), "nonfinite.report");
        readback = new AsyncReadback(backend, watched.Length + 1, slots: 1);
        reportValues = new float[watched.Length + 1];
        statistics = [.. plan.Network.BufferNames.Select(plan.Network.Buffer)];
        savedStatistics = [.. statistics.Select(b => backend.Allocate(b.Shape, $"nonfinite.saved.{b.Name}"))];
        SaveStatistics();
        optimizer.SkipFlag = report;
    }

    /// <summary>The node a parameter belongs to: its name without the last part (<c>layer1.0.conv1.weight</c> → <c>layer1.0.conv1</c>).</summary>
    static string LayerOf(string parameterName)
    {
        int dot = parameterName.LastIndexOf('.');
        return dot > 0 ? parameterName[..dot] : parameterName;
    }

    /// <summary>Whether the forward pass is watched too (the constructor's <c>watchForward</c>).</summary>
    public bool WatchesForward { get; }

    /// <summary>The watched tensors, in flag order (data-flow order, see <see cref="NonFiniteReport.Tensors"/>).</summary>
    public IReadOnlyList<NonFiniteTensor> Watched => descriptions;

    /// <summary>The device-side report: word 0 holds the bits of the first bad step t (0 while healthy), word 1 + i flag i.</summary>
    public Tensor Report => report;

    /// <summary>Queues a device copy of the network's buffers (batch norm's running statistics), to be put back by
    /// <see cref="Check"/> if the step turns out bad. Call at a step's start, before its forward pass (the
    /// <see cref="FrameBudgetedTrainer"/> and <see cref="TrainStep"/> do); without it the copy is the one the last good
    /// <see cref="Check"/> kept, which misses buffers changed since outside guarded steps. Allocates nothing, reads nothing back.</summary>
    public void SaveStatistics()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        for (int i = 0; i < statistics.Length; i++) backend.CopyRange(statistics[i], 0, savedStatistics[i], 0, statistics[i].Length);
    }

    /// <summary>
    /// Queues the check of the step whose gradients were just computed, before the optimizer's update:
    /// clears the flags, flags every watched tensor holding NaN or ±∞ (<see cref="IBackend.FlagNonFiniteTensors"/>: on GL
    /// one dispatch for all parameters and one for all gradients, since each group shares a buffer), and latches them with
    /// <c>t = StepCount + 1</c> (the update about to run) if nothing is latched yet; then, while the report is latched,
    /// puts back the buffers' last good copy, and otherwise makes their values the copy. Allocates nothing, reads nothing back.
    /// </summary>
    public void Check()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        backend.Fill(flags, 0f);
        backend.FlagNonFiniteTensors(watched, flags, flagIndices);
        backend.LatchNonFinite(flags, report, unchecked((uint)(optimizer.StepCount + 1)));
        for (int i = 0; i < statistics.Length; i++) backend.RestoreOrSave(savedStatistics[i], statistics[i], report);
    }

    /// <summary>A guarded <see cref="ExecutionPlan.TrainStep"/>: <see cref="SaveStatistics"/>, gradients, <see cref="Check"/>,
    /// the optimizer's update (skipped on the device when the check latched).</summary>
    public void TrainStep()
    {
        SaveStatistics();
        plan.ComputeGradients();
        Check();
        optimizer.Step(backend, parameters, gradients);
    }

    /// <summary>
    /// Non-blocking: returns the report once the device's latch has reached the host, else null. Each call either
    /// collects the copy requested by an earlier call (when its fence has passed) or requests a new one.
    /// A report rewinds the optimizer's step count and clears the latch (see the class remarks); call between steps.
    /// Allocates only when it returns a report.
    /// </summary>
    public NonFiniteReport? Poll()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (readback.PendingCount > 0)
        {
            if (!readback.TryRead(reportValues)) return null;
            if (Resolve() is { } found) return found;
        }
        readback.Request(report);
        // the CPU backend completes a request at once; on GL the fence rarely has passed yet, and then this is null
        return readback.TryRead(reportValues) ? Resolve() : null;
    }

    /// <summary>Reads the report now, waiting for the device (a stall: for tests, or when the caller must know at once).
    /// Same effect as <see cref="Poll"/> returning the report.</summary>
    public NonFiniteReport? ReadNow()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (readback.PendingCount > 0) readback.Read(reportValues); // an older copy: superseded by the download below
        report.Download(reportValues);
        return Resolve();
    }

    /// <summary>Turns downloaded report values into a report, rewinds t and clears the latch; null while healthy.</summary>
    NonFiniteReport? Resolve()
    {
        uint bits = BitConverter.SingleToUInt32Bits(reportValues[0]);
        if (bits == 0) return null;
        long step = RestoreStep(bits, optimizer.StepCount);
        var bad = new List<NonFiniteTensor>();
        for (int i = 0; i < descriptions.Length; i++)
            if (reportValues[1 + i] != 0f) bad.Add(descriptions[i]);
        var result = new NonFiniteReport(step, bad, optimizer.StepCount - (step - 1));
        optimizer.RewindStepCount(step - 1);
        backend.Fill(report, 0f);
        return result;
    }

    /// <summary>The full step number whose low 32 bits the device stored: the latest t ≤ <paramref name="current"/> with those bits.</summary>
    static long RestoreStep(uint bits, long current)
    {
        long step = (current & ~0xFFFF_FFFFL) | bits;
        return step > current ? step - (1L << 32) : step;
    }

    /// <summary>Detaches from the optimizer and releases the flag and report tensors and the readback.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (ReferenceEquals(optimizer.SkipFlag, report)) optimizer.SkipFlag = null;
        flags.Dispose();
        report.Dispose();
        foreach (var saved in savedStatistics) saved.Dispose();
        readback.Dispose();
    }
}
