namespace NeuroPlugin.Tests.InGame;

/// <summary>Results out without stalls on the CPU backend, where a request completes at once: order, numbering, slot
/// reuse, errors and no allocation per request or read.</summary>
public sealed class AsyncReadbackTests
{
    [Test]
    public void RequestsCompleteAtOnceInOrder()
    {
        using var backend = new CpuBackend();
        using var tensor = backend.Allocate(new TensorShape(2, 3), "logits");
        using var readback = new AsyncReadback(backend, 6, slots: 2);
        var values = new float[6];

        Assert.That(readback.TryRead(values, out long none), Is.False, "nothing requested yet");
        Assert.That(none, Is.EqualTo(-1));
        tensor.Upload([1, 2, 3, 4, 5, 6]);
        Assert.That(readback.Request(tensor), Is.EqualTo(0));
        backend.Fill(tensor, 7f); // later commands do not change a request already made
        Assert.That(readback.Request(tensor), Is.EqualTo(1));
        Assert.That(readback.PendingCount, Is.EqualTo(2));
        Assert.That(() => readback.Request(tensor), Throws.InvalidOperationException.With.Message.Contains("all 2 readback slots are in flight"));

        Assert.That(readback.TryRead(values, out long first), Is.True);
        Assert.That((first, values), Is.EqualTo((0L, new float[] { 1, 2, 3, 4, 5, 6 })));
        Assert.That(readback.Read(values), Is.EqualTo(1));
        Assert.That(values, Is.All.EqualTo(7f));
        Assert.That(readback.PendingCount, Is.Zero);
        Assert.That(() => readback.Read(values), Throws.InvalidOperationException.With.Message.Contains("no readback is pending"));
    }

    [Test]
    public void SlotsAreReusedWithoutAllocating()
    {
        using var backend = new CpuBackend();
        using var tensor = backend.Allocate(new TensorShape(16), "values");
        using var readback = new AsyncReadback(backend, 16, slots: 3);
        var host = new float[16];
        var values = new float[16];
        // Results are collected into arrays made beforehand and asserted after the loop (asserts allocate).
        var requested = new long[50];
        var read = new long[50];
        var completed = new bool[50];
        var last = new float[50];
        void Round(int round)
        {
            host.AsSpan().Fill(round);
            tensor.Upload(host);
            requested[round] = readback.Request(tensor);
            completed[round] = readback.TryRead(values, out read[round]);
            last[round] = values[15];
        }
        using (var warm = new AsyncReadback(backend, 16, slots: 3))
            AllocationAssert.WarmUp(_ =>
            {
                warm.Request(tensor);
                warm.TryRead(values, out long _);
            });
        Round(0);
        long allocated = AllocationAssert.AllocatedBy(() =>
        {
            for (int round = 1; round < 50; round++) Round(round);
        });
        Assert.That(allocated, Is.Zero, "allocation per request/read");
        Assert.That(completed, Is.All.True);
        Assert.That(read, Is.EqualTo(requested));
        Assert.That(requested, Is.EqualTo(Enumerable.Range(0, 50).Select(i => (long)i).ToArray()));
        Assert.That(last, Is.EqualTo(Enumerable.Range(0, 50).Select(i => (float)i).ToArray()));
        Assert.That(readback.RequestCount, Is.EqualTo(50));
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        using var backend = new CpuBackend();
        using var other = new CpuBackend();
        using var tensor = backend.Allocate(new TensorShape(2, 5), "logits");
        using var foreign = other.Allocate(new TensorShape(6), "elsewhere");
        var readback = new AsyncReadback(backend, 6);
        Assert.That(() => readback.Request(tensor), Throws.InstanceOf<ShapeException>().With.Message.Contains("source 'logits' (2,5) has 10 values, this readback takes 6"));
        Assert.That(() => readback.Request(foreign), Throws.ArgumentException.With.Message.Contains("source 'elsewhere' lives on backend"));
        Assert.That(() => readback.TryRead(new float[5]), Throws.ArgumentException.With.Message.Contains("destination holds 5 floats, this readback gives 6"));
        Assert.That(() => new AsyncReadback(backend, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        readback.Dispose();
        readback.Dispose();
        Assert.That(() => readback.TryRead(new float[6]), Throws.InstanceOf<ObjectDisposedException>());
    }
}

/// <summary>
/// Results out without stalls on the GL backend: a persistently mapped staging buffer and a fence per request. The
/// device's synchronous-commands diagnostic is off, nothing calls glFinish or a synchronous download, and the values
/// still arrive right, several requests in flight, slots reused, fences counted and deleted.
/// </summary>
public sealed class AsyncReadbackGLTests : GLFixture
{
    /// <summary>Polls without waiting until the oldest request completes (bounded, so a broken fence fails the test).</summary>
    static long PollUntilRead(AsyncReadback readback, Span<float> values)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (readback.TryRead(values, out long request)) return request;
            Thread.Yield();
        }
        Assert.Fail("the readback's fence did not signal within 30 s");
        return -1;
    }

    [Test]
    public void ValuesArriveWithoutFinishOrSynchronousDownload()
    {
        Assert.That(Device.SynchronousCommands, Is.False, "the diagnostic that waits after every command must be off (NEURO_GL_SYNC unset)");
        using var input = Backend.Allocate(new TensorShape(4, 33), "input");
        using var output = Backend.Allocate(new TensorShape(4, 33), "output");
        var host = Enumerable.Range(0, 132).Select(i => (i - 60) / 8f).ToArray();
        input.Upload(host);
        Backend.ActivationForward(ActivationKind.ReLU, input, output); // a kernel writes what is read back
        using var readback = new AsyncReadback(Backend, output.Length);
        long downloads = Backend.ReadbackCount;
        int fences = Device.LiveFenceCount;

        long id = readback.Request(output);
        Assert.That(Device.LiveFenceCount, Is.EqualTo(fences + 1), "one fence per request in flight");
        var values = new float[132];
        Assert.That(PollUntilRead(readback, values), Is.EqualTo(id));
        Assert.That(values, Is.EqualTo(host.Select(v => Math.Max(v, 0f)).ToArray()));
        Assert.That(Device.LiveFenceCount, Is.EqualTo(fences), "the fence is deleted once read");
        Assert.That(Backend.ReadbackCount, Is.EqualTo(downloads), "no synchronous download");
    }

    [Test]
    public void SeveralRequestsInFlightKeepTheirOwnValues()
    {
        using var tensor = Backend.Allocate(new TensorShape(1000), "state");
        using var readback = new AsyncReadback(Backend, tensor.Length, slots: 3);
        var values = new float[1000];
        for (int round = 0; round < 4; round++)
        {
            // Three requests, the tensor changed on the device between them; each read gives the tensor as it was
            // when requested, in request order.
            for (int k = 0; k < 3; k++)
            {
                Backend.Fill(tensor, round * 10 + k);
                Backend.Accumulate(tensor, tensor, 1f); // doubles it, by a kernel
                readback.Request(tensor);
            }
            Assert.That(readback.PendingCount, Is.EqualTo(3));
            Assert.That(() => readback.Request(tensor), Throws.InvalidOperationException);
            for (int k = 0; k < 3; k++)
            {
                long id = k == 1 ? readback.Read(values) : PollUntilRead(readback, values);
                Assert.That(id, Is.EqualTo(round * 3 + k));
                Assert.That(values, Is.All.EqualTo(2f * (round * 10 + k)), $"round {round}, request {k}");
            }
        }
    }

    [Test]
    public void SteadyStateAllocatesNothing()
    {
        using var tensor = Backend.Allocate(new TensorShape(64), "state");
        using var readback = new AsyncReadback(Backend, 64, slots: 2);
        var values = new float[64];
        AllocationAssert.SteadyStateAllocatesNothing(_ =>
        {
            readback.Request(tensor);
            readback.Read(values);
        }, 20, "allocation per request/read");
    }

    [Test]
    public void DisposingWithRequestsInFlightDeletesEverything()
    {
        int fences = Device.LiveFenceCount, buffers = Device.LiveBufferCount;
        using var tensor = Backend.Allocate(new TensorShape(10), "state");
        var readback = new AsyncReadback(Backend, 10, slots: 4);
        Assert.That(Device.LiveBufferCount, Is.EqualTo(buffers + 2), "the tensor and the staging buffer");
        readback.Request(tensor);
        readback.Request(tensor);
        Assert.That(Device.LiveFenceCount, Is.EqualTo(fences + 2));
        readback.Dispose();
        readback.Dispose();
        Assert.That(Device.LiveFenceCount, Is.EqualTo(fences));
        Assert.That(Device.LiveBufferCount, Is.EqualTo(buffers + 1));
        Assert.That(() => readback.Request(tensor), Throws.InstanceOf<ObjectDisposedException>());
    }
}

/// <summary>The fence wrapper behind <see cref="AsyncReadback"/>: a reusable slot, counted by the device while it holds a
/// fence, deleted on the owner thread whether disposed there, on another thread, or finalized.</summary>
public sealed class ReadbackFenceGLTests : GLFixture
{
    [Test]
    public void ASlotIsReArmedAndCounted()
    {
        int before = Device.LiveFenceCount;
        using var fence = new GLFence(Device);
        Assert.That(fence.IsArmed, Is.False);
        Assert.That(Device.LiveFenceCount, Is.EqualTo(before), "an empty slot holds no GL object");
        Assert.That(() => fence.IsSignaled, Throws.InvalidOperationException.With.Message.Contains("holds no fence"));
        for (int round = 0; round < 3; round++)
        {
            fence.Insert();
            fence.Insert(); // replaces the previous fence: still one
            Assert.That(Device.LiveFenceCount, Is.EqualTo(before + 1));
            fence.Wait();
            Assert.That(fence.IsSignaled, Is.True, "after Wait");
            fence.Release();
            Assert.That((fence.IsArmed, Device.LiveFenceCount), Is.EqualTo((false, before)));
        }
    }
}
