namespace NeuroPlugin.Tests.InGame;

/// <summary>The on-device replay buffer on the CPU reference: ring overwrite, gathered batches equal the slots
/// <see cref="ReplayBuffer.DrawSlots"/> names, draws cover every stored item about uniformly, errors name both shapes.</summary>
public sealed class ReplayBufferTests
{
    /// <summary>A batch (B,C,H,W) whose sample b holds the values 100·tag_b + e for element e.</summary>
    internal static Tensor Frames(IBackend backend, TensorShape shape, params int[] tags)
    {
        var tensor = backend.Allocate(shape, "frames");
        var values = new float[shape.Length];
        int item = shape.ItemLength;
        for (int b = 0; b < shape[0]; b++)
            for (int e = 0; e < item; e++) values[b * item + e] = 100 * tags[b] + e;
        tensor.Upload(values);
        return tensor;
    }

    [Test]
    public void AppendOverwritesTheOldestWhenFull()
    {
        using var backend = new CpuBackend();
        var sample = new TensorShape(2, 2, 3);
        using var buffer = new ReplayBuffer(backend, capacity: 3, sample, classCount: 4);
        using var frames = Frames(backend, sample.PrependBatch(5), 0, 1, 2, 3, 4);
        Assert.That((buffer.Count, buffer.NextSlot), Is.EqualTo((0, 0)));
        int[] labels = [3, 1, 0, 2, 1];
        for (int i = 0; i < 5; i++) buffer.Append(frames, i, labels[i]);

        // Appended #0..#4 into a ring of 3: slot 0 ← #3, slot 1 ← #4, slot 2 ← #2.
        Assert.That((buffer.Count, buffer.AppendCount, buffer.NextSlot), Is.EqualTo((3, 5L, 2)));
        int[] expectedTags = [3, 4, 2];
        var stored = buffer.Samples.ToArray();
        var targets = buffer.Targets.ToArray();
        for (int slot = 0; slot < 3; slot++)
        {
            int tag = expectedTags[slot];
            for (int e = 0; e < 12; e++) Assert.That(stored[slot * 12 + e], Is.EqualTo(100 * tag + e), $"slot {slot} element {e}");
            Assert.That(buffer.LabelAt(slot), Is.EqualTo(labels[tag]));
            for (int k = 0; k < 4; k++) Assert.That(targets[slot * 4 + k], Is.EqualTo(k == labels[tag] ? 1f : 0f), $"slot {slot} target {k}");
        }
        Assert.That(() => buffer.LabelAt(3), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void SampleIntoGathersTheDrawnSlots()
    {
        using var backend = new CpuBackend();
        var sample = new TensorShape(3);
        using var buffer = new ReplayBuffer(backend, capacity: 8, sample, classCount: 5);
        using var frames = Frames(backend, sample.PrependBatch(6), 10, 11, 12, 13, 14, 15);
        for (int i = 0; i < 6; i++) buffer.Append(frames, i, i % 5);
        using var inputs = backend.Allocate(new TensorShape(9, 3), "inputs");
        using var targets = backend.Allocate(new TensorShape(9, 5), "targets");
        var slots = new int[9];
        foreach (long step in new[] { 0L, 1L, 5_000_000_000L })
        {
            buffer.SampleInto(inputs, targets, seed: 42, step);
            buffer.DrawSlots(42, step, slots);
            var x = inputs.ToArray();
            var t = targets.ToArray();
            for (int b = 0; b < 9; b++)
            {
                Assert.That(slots[b], Is.InRange(0, 5), "drawn from the 6 stored, not the 8 of capacity");
                Assert.That(x.AsSpan(b * 3, 3).ToArray(), Is.EqualTo(new float[] { 100 * (10 + slots[b]), 100 * (10 + slots[b]) + 1, 100 * (10 + slots[b]) + 2 }), $"step {step} row {b}");
                for (int k = 0; k < 5; k++) Assert.That(t[b * 5 + k], Is.EqualTo(k == slots[b] % 5 ? 1f : 0f), $"step {step} row {b} target {k}");
            }
        }
        var first = new int[9];
        buffer.DrawSlots(42, 0, first);
        buffer.DrawSlots(42, 1, slots);
        Assert.That(slots, Is.Not.EqualTo(first), "a new step draws new slots");
        buffer.DrawSlots(43, 0, slots);
        Assert.That(slots, Is.Not.EqualTo(first), "a new seed draws new slots");
    }

    [Test]
    public void DrawsCoverEveryStoredItemUniformly()
    {
        // 7 stored items, 64 rows × 500 steps = 32000 draws: each item expects 4571, σ ≈ 63; allow 6σ.
        const int items = 7, rows = 64, steps = 500;
        using var backend = new CpuBackend();
        using var buffer = new ReplayBuffer(backend, capacity: 10, new TensorShape(1), classCount: 2);
        using var frames = Frames(backend, new TensorShape(items, 1), 0, 1, 2, 3, 4, 5, 6);
        for (int i = 0; i < items; i++) buffer.Append(frames, i, 0);
        var counts = new int[items];
        var slots = new int[rows];
        for (long step = 0; step < steps; step++)
        {
            buffer.DrawSlots(7, step, slots);
            foreach (int slot in slots) counts[slot]++;
        }
        double expected = rows * steps / (double)items, sigma = Math.Sqrt(expected * (1 - 1.0 / items));
        for (int i = 0; i < items; i++)
            Assert.That(counts[i], Is.InRange(expected - 6 * sigma, expected + 6 * sigma), $"item {i} drawn {counts[i]} times of {rows * steps}");
    }

    [Test]
    public void RowIndexIsTheHighWordOfTheScaledPhiloxLane()
    {
        // Independent of RowIndex's own code: lane 1 of Philox((0, step low, step high, 0), (seed, stream)) times 10, high word.
        long step = (3L << 32) + 17;
        var bits = CounterRandom.Philox4x32((0u, 17u, 3u, 0u), (9u, ReplayBuffer.DefaultStream));
        Assert.That(CounterRandom.RowIndex(9, ReplayBuffer.DefaultStream, step, 1, 10), Is.EqualTo((int)((ulong)bits.Y * 10 / 4294967296UL)));
        var next = CounterRandom.Philox4x32((1u, 17u, 3u, 0u), (9u, ReplayBuffer.DefaultStream));
        Assert.That(CounterRandom.RowIndex(9, ReplayBuffer.DefaultStream, step, 6, 1000), Is.EqualTo((int)((ulong)next.Z * 1000 >> 32)));
    }

    [Test]
    public void ErrorsNameBothShapes()
    {
        using var backend = new CpuBackend();
        using var buffer = new ReplayBuffer(backend, 4, new TensorShape(3, 8, 8), 10, name: "memory");
        using var inputs = backend.Allocate(new TensorShape(2, 3, 8, 8), "inputs");
        using var targets = backend.Allocate(new TensorShape(2, 10), "targets");
        Assert.That(() => buffer.SampleInto(inputs, targets, 1, 0),
            Throws.InvalidOperationException.With.Message.Contains("replay buffer 'memory.samples' is empty"));

        using var wrong = backend.Allocate(new TensorShape(2, 1, 8, 8), "gray");
        Assert.That(() => buffer.Append(wrong, 0, 1),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("source 'gray' (2,1,8,8) does not hold samples of (3,8,8): expected (B, 3,8,8)"));
        buffer.Append(inputs, 1, 9);
        Assert.That(() => buffer.Append(inputs, 2, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("sourceIndex 2 is outside source 'inputs' (2,3,8,8)"));
        Assert.That(() => buffer.Append(inputs, 0, 10), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("label 10 is outside the replay buffer's 10 classes"));
        using var narrow = backend.Allocate(new TensorShape(2, 9), "narrow");
        Assert.That(() => buffer.SampleInto(inputs, narrow, 1, 0),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("oneHotTargets 'narrow' (2,9) does not hold samples of (10)"));
        using var shortTargets = backend.Allocate(new TensorShape(3, 10), "three");
        Assert.That(() => buffer.SampleInto(inputs, shortTargets, 1, 0),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("oneHotTargets 'three' (3,10) and inputs 'inputs' (2,3,8,8) need the same batch size"));
        Assert.That(() => new ReplayBuffer(backend, 0, new TensorShape(3), 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ClearForgetsAndAppendingAllocatesNothing()
    {
        using var backend = new CpuBackend();
        using var buffer = new ReplayBuffer(backend, 4, new TensorShape(2), 3);
        using var frames = Frames(backend, new TensorShape(2, 2), 1, 2);
        using var inputs = backend.Allocate(new TensorShape(4, 2), "inputs");
        using var targets = backend.Allocate(new TensorShape(4, 3), "targets");
        AllocationAssert.SteadyStateAllocatesNothing(i =>
        {
            buffer.Append(frames, i % 2, i % 3);
            buffer.SampleInto(inputs, targets, 0, i);
        }, 20, "allocation per append/sample");
        buffer.Clear();
        Assert.That((buffer.Count, buffer.NextSlot), Is.EqualTo((0, 0)));
        Assert.That(buffer.Samples.ToArray(), Is.All.Zero);
        Assert.That(() => buffer.SampleInto(inputs, targets, 0, 0), Throws.InvalidOperationException);
    }
}

/// <summary>The replay buffer on the GL backend equals the CPU reference exactly (copies and a gather of the same
/// Philox-drawn rows), with no readback per append or sample.</summary>
public sealed class ReplayBufferGLTests : GLFixture
{
    [Test]
    public void AppendAndSampleEqualCpuExactly()
    {
        using var cpu = new CpuBackend();
        var sample = new TensorShape(3, 5, 4);
        using var onCpu = new ReplayBuffer(cpu, 6, sample, 7);
        using var onGl = new ReplayBuffer(Backend, 6, sample, 7);
        using var cpuFrames = ReplayBufferTests.Frames(cpu, sample.PrependBatch(4), 1, 2, 3, 4);
        using var glFrames = ReplayBufferTests.Frames(Backend, sample.PrependBatch(4), 1, 2, 3, 4);
        using var cpuInputs = cpu.Allocate(sample.PrependBatch(13), "inputs");
        using var cpuTargets = cpu.Allocate(new TensorShape(13, 7), "targets");
        using var glInputs = Backend.Allocate(sample.PrependBatch(13), "inputs");
        using var glTargets = Backend.Allocate(new TensorShape(13, 7), "targets");

        long readbacks = Backend.ReadbackCount;
        for (int i = 0; i < 9; i++) // 9 appends into 6 slots: the ring wraps
        {
            onCpu.Append(cpuFrames, i % 4, (3 * i) % 7);
            onGl.Append(glFrames, i % 4, (3 * i) % 7);
            onCpu.SampleInto(cpuInputs, cpuTargets, 11, i);
            onGl.SampleInto(glInputs, glTargets, 11, i);
        }
        onCpu.SampleInto(cpuInputs, cpuTargets, -5, 7_000_000_123L);
        onGl.SampleInto(glInputs, glTargets, -5, 7_000_000_123L);
        Assert.That(Backend.ReadbackCount, Is.EqualTo(readbacks), "no readback while appending and sampling");

        Assert.That(onGl.Samples.ToArray(), Is.EqualTo(onCpu.Samples.ToArray()), "stored samples");
        Assert.That(onGl.Targets.ToArray(), Is.EqualTo(onCpu.Targets.ToArray()), "stored targets");
        Assert.That(glInputs.ToArray(), Is.EqualTo(cpuInputs.ToArray()), "sampled inputs");
        Assert.That(glTargets.ToArray(), Is.EqualTo(cpuTargets.ToArray()), "sampled targets");
    }

    [Test]
    public void CapacityBeyondOneDeviceBufferSaysHowManyFit()
    {
        var sample = new TensorShape(3, 64, 64);
        long fit = Device.MaxShaderStorageBlockSize / sizeof(float) / sample.Length;
        int capacity = (int)Math.Min(fit + 1, int.MaxValue / sample.Length);
        Assume.That(capacity, Is.EqualTo(fit + 1), "the driver's block size is beyond what a tensor can index");
        Assert.That(() => new ReplayBuffer(Backend, capacity, sample, 4),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains($"capacity {capacity} × sample (3,64,64)")
                .And.Message.Contains($"keep at most {fit} samples"));
    }

    [Test]
    public void GatherMatchesTheHostDrawForManyRows()
    {
        // 1000 rows over 997 stored items: every Philox lane of 250 counters, checked against the host's draw.
        using var buffer = new ReplayBuffer(Backend, 997, new TensorShape(1), 2);
        using var frames = Backend.Allocate(new TensorShape(997, 1), "frames");
        frames.Upload(Enumerable.Range(0, 997).Select(i => (float)i).ToArray());
        for (int i = 0; i < 997; i++) buffer.Append(frames, i, i % 2);
        using var inputs = Backend.Allocate(new TensorShape(1000, 1), "inputs");
        using var targets = Backend.Allocate(new TensorShape(1000, 2), "targets");
        buffer.SampleInto(inputs, targets, 3, 99);
        var slots = new int[1000];
        buffer.DrawSlots(3, 99, slots);
        Assert.That(inputs.ToArray(), Is.EqualTo(slots.Select(s => (float)s).ToArray()));
        Assert.That(slots.Distinct().Count(), Is.GreaterThan(550), "1000 draws from 997 cover about 63% of them");
    }
}
