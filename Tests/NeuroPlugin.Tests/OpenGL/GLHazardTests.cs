namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The hazard tracker of validation mode, on recorded command streams (no GL needed): each ordering fault it
/// models is reported with its kind, the operation and the buffer, and the fence or barrier that orders it clears it.</summary>
public sealed class GLHazardTrackerTests
{
    const uint Input = 1, Staging = 2;
    const long Bytes = 64;

    static GLHazardException Fault(Action action) => Assert.Throws<GLHazardException>(() => action())!;

    /// <summary>A tracker that knows one buffer, its first command begun.</summary>
    static GLHazardTracker Tracking(uint buffer, string name, bool initialized)
    {
        var tracker = new GLHazardTracker();
        tracker.Created(buffer, name, initialized);
        tracker.BeginCommand();
        return tracker;
    }

    static GLHazardTracker WithKernelReading(uint buffer)
    {
        var tracker = Tracking(buffer, "input", initialized: true);
        tracker.Kernel("conv2d.comp [FORWARD]", buffer, "input", 0, Bytes, read: true, write: false);
        tracker.Barrier(shaderStorage: true, bufferUpdate: true, clientMapped: false);
        return tracker;
    }

    [Test]
    public void UploadOverABufferAKernelMayStillRead_IsReported_UntilAFencePassed()
    {
        // main's batch upload: glBufferSubData into 'input' while the last step's kernels may still read it
        var tracker = WithKernelReading(Input);
        long fence = tracker.FenceInserted();
        tracker.BeginCommand();
        var fault = Fault(() => tracker.Transfer("upload", Input, "input", 0, Bytes, read: false, write: true));
        Assert.That(fault.Hazard, Is.EqualTo(GLHazard.TransferWriteOverPendingWork));
        Assert.That(fault.Operation, Is.EqualTo("upload"));
        Assert.That(fault.Buffer, Is.EqualTo("input"));
        Assert.That(fault.Message, Does.Contain("conv2d.comp [FORWARD]"));

        tracker.Completed(fence);
        Assert.DoesNotThrow(() => tracker.Transfer("upload", Input, "input", 0, Bytes, read: false, write: true));
    }

    [Test]
    public void KernelReadingAnUnfencedUpload_IsReported()
    {
        var tracker = Tracking(Input, "target", initialized: true);
        tracker.Transfer("upload", Input, "target", 0, Bytes, read: false, write: true);
        tracker.BeginCommand();
        var fault = Fault(() => tracker.Kernel("softmax_cross_entropy.comp", Input, "target", 0, Bytes, read: true, write: false));
        Assert.That(fault.Hazard, Is.EqualTo(GLHazard.KernelAfterPendingTransfer));
        Assert.That(fault.Operation, Is.EqualTo("softmax_cross_entropy.comp"));
    }

    [Test]
    public void ClearThenUploadWithoutAFence_IsReported()
    {
        // the reordering seen on NVIDIA's driver: a large upload overtook a queued clear of the same buffer
        var tracker = Tracking(Input, "replay", initialized: true);
        tracker.Transfer("clear", Input, "replay", 0, Bytes, read: false, write: true);
        tracker.BeginCommand();
        Assert.That(Fault(() => tracker.Transfer("upload", Input, "replay", 0, Bytes, read: false, write: true)).Hazard,
            Is.EqualTo(GLHazard.TransferWriteOverPendingWork));
    }

    [Test]
    public void KernelAfterKernel_NeedsAShaderStorageBarrier()
    {
        var tracker = Tracking(Input, "conv1", initialized: true);
        tracker.Kernel("conv", Input, "conv1", 0, Bytes, read: false, write: true);
        tracker.BeginCommand();
        Assert.That(Fault(() => tracker.Kernel("relu", Input, "conv1", 0, Bytes, read: true, write: false)).Hazard,
            Is.EqualTo(GLHazard.ReadAfterWriteWithoutBarrier));
        Assert.That(Fault(() => tracker.Kernel("relu", Input, "conv1", 0, Bytes, read: false, write: true)).Hazard,
            Is.EqualTo(GLHazard.WriteAfterAccessWithoutBarrier));
        tracker.Barrier(shaderStorage: true, bufferUpdate: false, clientMapped: false);
        Assert.DoesNotThrow(() => tracker.Kernel("relu", Input, "conv1", 0, Bytes, read: true, write: false));
        tracker.BeginCommand();
        Assert.That(Fault(() => tracker.Transfer("readback copy", Input, "conv1", 0, Bytes, read: true, write: false)).Hazard,
            Is.EqualTo(GLHazard.TransferReadWithoutBarrier), "the kernel's write needs GL_BUFFER_UPDATE_BARRIER_BIT before a copy reads it");
    }

    [Test]
    public void HostWritesToStaging_WaitForTheFenceAfterTheCopiesThatReadIt()
    {
        var tracker = new GLHazardTracker();
        tracker.Created(Staging, "upload staging", initialized: false);
        tracker.HostWrite("upload staging", Staging, "upload staging", 0, Bytes);
        tracker.BeginCommand();
        tracker.Kernel("transfer.comp [COPY_VECTORS]", Staging, "upload staging", 0, Bytes, read: true, write: false);
        Assert.DoesNotThrow(() => tracker.HostWrite("upload staging", Staging, "upload staging", Bytes, Bytes), "another range is free");
        var fault = Fault(() => tracker.HostWrite("upload staging", Staging, "upload staging", 0, Bytes));
        Assert.That(fault.Hazard, Is.EqualTo(GLHazard.HostWriteWhileInUse));
        tracker.Completed(tracker.FenceInserted());
        Assert.DoesNotThrow(() => tracker.HostWrite("upload staging", Staging, "upload staging", 0, Bytes));
    }

    [Test]
    public void HostReadsOfReadbackStaging_NeedTheClientMappedBarrierAndThePassedFence()
    {
        var tracker = Tracking(Staging, "readback", initialized: false);
        tracker.Kernel("transfer.comp [COPY]", Staging, "readback", 0, Bytes, read: false, write: true);
        tracker.Barrier(shaderStorage: true, bufferUpdate: true, clientMapped: false);
        long fence = tracker.FenceInserted();
        Assert.That(Fault(() => tracker.HostRead("host read", Staging, "readback", 0, Bytes)).Hazard, Is.EqualTo(GLHazard.HostReadBeforeFence));
        tracker.Completed(fence);
        Assert.That(Fault(() => tracker.HostRead("host read", Staging, "readback", 0, Bytes)).Message, Does.Contain("GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT"));
        tracker.Barrier(shaderStorage: false, bufferUpdate: false, clientMapped: true);
        Assert.DoesNotThrow(() => tracker.HostRead("host read", Staging, "readback", 0, Bytes));
    }

    [Test]
    public void ReadingABufferNothingWrote_IsReported()
    {
        var tracker = Tracking(Input, "scratch", initialized: false);
        var fault = Fault(() => tracker.Kernel("reduce.comp", Input, "scratch", 0, Bytes, read: true, write: false));
        Assert.That((fault.Hazard, fault.Buffer), Is.EqualTo((GLHazard.UninitializedRead, "scratch")));
    }
}

/// <summary>The preprocessor subset validation mode evaluates to find a kernel variant's storage blocks.</summary>
public sealed class ShaderConditionsTests
{
    [Test]
    public void ConditionsSelectTheVariantsBlocks_WithBindingNamesAndInPlacePragmas()
    {
        const string source = """
            #version 430
            #define STATS_FINALIZE
            #define SW 2
            #define OUTPUT0 3
            #define INPUT0 0
            #if defined(FORWARD)
            layout(std430, binding = 9) readonly buffer Wrong { float a[]; };
            #elif defined(STATS_FINALIZE) && SW == 2 && !defined(EVAL)
            layout(std430, binding = OUTPUT0) buffer Right { float b[]; };
            #pragma neuro_in_place(OUTPUT0, INPUT0)
            #ifndef GROUPS
            layout(std430, binding = INPUT0) readonly buffer Inner { float c[]; };
            #else
            layout(std430, binding = 5) writeonly buffer Hidden { float d[]; };
            #endif
            #else
            layout(std430, binding = 8) writeonly buffer AlsoWrong { float e[]; };
            #endif
            layout(std430, binding = (OUTPUT0 + 1) * 2 - 4 % 3) writeonly buffer Last { float f[]; };
            """;
        var (blocks, inPlace) = ShaderInterface.ParseSource(source);
        Assert.That(blocks.Keys, Is.EquivalentTo(new[] { "Right", "Inner", "Last" }));
        Assert.That(blocks["Right"], Is.EqualTo(new ShaderInterface.Block(3, "Right", StorageAccess.ReadWrite)));
        Assert.That(blocks["Inner"], Is.EqualTo(new ShaderInterface.Block(0, "Inner", StorageAccess.Read)));
        Assert.That(blocks["Last"], Is.EqualTo(new ShaderInterface.Block(7, "Last", StorageAccess.Write)));
        Assert.That(inPlace, Is.EqualTo(new[] { (3, 0) }));
    }

    [Test]
    public void UnbalancedConditionals_AreFormatErrors()
    {
        Assert.Throws<FormatException>(() => ShaderInterface.ParseSource("#endif\n"));
        Assert.Throws<FormatException>(() => ShaderInterface.ParseSource("#if (1\n#endif\n"));
    }
}
