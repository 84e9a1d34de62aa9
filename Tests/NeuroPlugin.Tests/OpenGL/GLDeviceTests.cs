using System.Runtime.CompilerServices;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The GL plumbing: device creation and limits, object lifetime, thread affinity, errors, shader compilation.</summary>
public sealed class GLDeviceTests : GLFixture
{
    [Test]
    public void DeviceReportsRendererVersionAndLimits()
    {
        Assert.That(Device.Renderer, Is.Not.Empty);
        Assert.That(Device.Vendor, Is.Not.Empty);
        Assert.That(Device.MajorVersion * 10 + Device.MinorVersion, Is.GreaterThanOrEqualTo(43), Device.Version);
        Assert.That(Device.MaxShaderStorageBlockSize, Is.GreaterThanOrEqualTo(1 << 24));
        Assert.That(Device.MaxWorkGroupCountX, Is.GreaterThanOrEqualTo(65535));
        Assert.That(Device.MaxWorkGroupInvocations, Is.GreaterThanOrEqualTo(1024));
        Assert.That(Device.MaxSharedMemorySize, Is.GreaterThanOrEqualTo(32768));
        Assert.That(Device.Describe(), Does.Contain(Device.Renderer).And.Contain(Device.Version));
        Assert.That(Backend.Name, Is.EqualTo("gl"));
        Assert.That(Backend.DeviceName, Is.EqualTo(Device.Renderer));
    }

    [Test]
    public void CheckErrorsNamesTheError()
    {
        Device.CheckErrors("clean state"); // no throw
        Device.GL.BindBufferBase(BufferTargetARB.ShaderStorageBuffer, 1_000_000, 0); // index beyond the limit
        var ex = Assert.Throws<GLException>(() => Device.CheckErrors("a bad binding"));
        Assert.That(ex!.Message, Does.Contain("a bad binding").And.Contain("GL_INVALID_VALUE"));
        Device.CheckErrors("after the report"); // the errors were consumed
    }

    [Test]
    public void CallsFromAnotherThreadThrow()
    {
        using var tensor = Backend.Allocate(new TensorShape(8), "t");
        Exception? fromFill = null, fromCheck = null, fromAllocate = null;
        var thread = new Thread(() =>
        {
            fromFill = Catch(() => Backend.Fill(tensor, 1));
            fromCheck = Catch(() => Device.CheckErrors("other thread"));
            fromAllocate = Catch(() => Backend.Allocate(new TensorShape(4), "x").Dispose());
        });
        thread.Start();
        thread.Join();
        foreach (var error in new[] { fromFill, fromCheck, fromAllocate })
        {
            Assert.That(error, Is.TypeOf<WrongThreadException>(), "a typed error (an InvalidOperationException)");
            Assert.That(error!.Message, Does.Contain($"thread {Environment.CurrentManagedThreadId}"));
        }
        Assert.That(tensor.ToArray(), Is.All.Zero, "nothing ran on the wrong thread");
    }

    /// <summary>Every kind of GL wrapper the runtime makes. A fence counts only while it holds a sync object, so
    /// its case inserts one.</summary>
    static readonly string[] ObjectKinds = ["buffer", "query", "sampler", "fence"];

    IDisposable Create(string kind)
    {
        switch (kind)
        {
            case "buffer": return new GLBuffer(Device, 16);
            case "query": return new GLQuery(Device);
            case "sampler": return new GLSampler(Device);
            default:
                var fence = new GLFence(Device);
                fence.Insert();
                return fence;
        }
    }

    int LiveCount(string kind) => kind switch
    {
        "buffer" => Device.LiveBufferCount,
        "query" => Device.LiveQueryCount,
        "sampler" => Device.LiveSamplerCount,
        _ => Device.LiveFenceCount,
    };

    static bool IsDisposed(IDisposable wrapper) => wrapper is GLObject glObject ? glObject.IsDisposed : ((GLFence)wrapper).IsDisposed;

    [TestCaseSource(nameof(ObjectKinds))]
    public void DisposeOnAnotherThreadDefersDeletionToTheOwnerThread(string kind)
    {
        int before = LiveCount(kind);
        var wrapper = Create(kind);
        Assert.That(LiveCount(kind), Is.EqualTo(before + 1));
        var thread = new Thread(() => wrapper.Dispose());
        thread.Start();
        thread.Join();
        Assert.That(IsDisposed(wrapper), Is.True);
        Device.CheckErrors("next call on the owner thread"); // deletes the queued object
        Assert.That(LiveCount(kind), Is.EqualTo(before));
    }

    [TestCaseSource(nameof(ObjectKinds))]
    public void FinalizedObjectsAreDeletedOnTheOwnerThread(string kind)
    {
        int before = LiveCount(kind);
        Abandon(kind, 3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.That(LiveCount(kind), Is.EqualTo(before + 3), "finalizers only queue; GL is not called from the finalizer thread");
        Device.CheckErrors("next call on the owner thread");
        Assert.That(LiveCount(kind), Is.EqualTo(before));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Abandon(string kind, int count)
    {
        for (int i = 0; i < count; i++) _ = Create(kind);
    }

    [Test]
    public void DisposeTwiceIsSafe()
    {
        var buffer = new GLBuffer(Device, 4);
        buffer.Dispose();
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.Download(new float[4]));

        var program = Backend.Shaders.Compile("twice.comp", "#version 430\nlayout(local_size_x = 1) in;\nvoid main() { }\n");
        program.Dispose();
        program.Dispose();
        Assert.That(program.IsDisposed, Is.True);

        var tensor = Backend.Allocate(new TensorShape(2, 3), "t");
        var view = tensor.Reshape(new TensorShape(6));
        tensor.Dispose();
        tensor.Dispose();
        view.Dispose();
        Assert.That(view.IsDisposed, Is.True, "a view of a disposed tensor reports it");
        Assert.Throws<ObjectDisposedException>(() => Backend.Fill(view, 0));
    }

    [Test]
    public void SecondHeadlessDeviceAndBackendDisposeTwice()
    {
        try
        {
            var backend = GLBackend.CreateHeadless(); // its context becomes current on this thread
            var tensor = backend.Allocate(new TensorShape(3), "t");
            backend.Fill(tensor, 2);
            Assert.That(tensor.ToArray(), Is.EqualTo(new[] { 2f, 2f, 2f }));
            tensor.Dispose();
            tensor.Dispose();
            backend.Dispose();
            backend.Dispose();
            Assert.That(backend.Device.IsDisposed, Is.True);
            Assert.That(backend.Device.LiveObjectCount, Is.Zero);
            backend.Device.Dispose();
        }
        finally
        {
            Device.MakeCurrent(); // the shared device's display must survive the other device's disposal
        }
        using var check = Backend.Allocate(new TensorShape(2), "check");
        Backend.Fill(check, 5);
        Assert.That(check.ToArray(), Is.EqualTo(new[] { 5f, 5f }));
    }

    [Test]
    public void FromCurrentContextWrapsTheHostContextWithoutOwningIt()
    {
        var host = GLDevice.FromCurrentContext(Device.GL);
        Assert.That(host.OwnsContext, Is.False);
        Assert.That(host.Renderer, Is.EqualTo(Device.Renderer));
        using (var backend = new GLBackend(host, ownsDevice: true))
        {
            using var x = backend.Allocate(new TensorShape(4), "x");
            using var y = backend.Allocate(new TensorShape(4), "y");
            x.Upload(new float[] { -1, 2, -3, 4 });
            backend.ActivationForward(ActivationKind.ReLU, x, y);
            Assert.That(y.ToArray(), Is.EqualTo(new[] { 0f, 2f, 0f, 4f }));
            Assert.Throws<InvalidOperationException>(host.MakeCurrent, "the host decides which context is current");
        }
        Assert.That(host.IsDisposed, Is.True);
        Assert.That(host.LiveObjectCount, Is.Zero);

        using var check = Backend.Allocate(new TensorShape(2), "check"); // the context itself lives on
        Backend.Fill(check, 3);
        Assert.That(check.ToArray(), Is.EqualTo(new[] { 3f, 3f }));
    }

    [Test]
    public void FromCurrentContextWithoutACurrentContextIsUnavailable()
    {
        Exception? error = null;
        var thread = new Thread(() => error = Catch(() => GLDevice.FromCurrentContext(Device.GL)));
        thread.Start();
        thread.Join();
        Assert.That(error, Is.TypeOf<GLUnavailableException>());
        Assert.That(error!.Message, Does.Contain("no OpenGL context is current"));
    }

    [Test]
    public void ShaderSyntaxErrorCarriesFileNameAndInfoLog()
    {
        const string source = "#version 430\nlayout(local_size_x = 1) in;\nvoid main()\n{\n    float broken = ;\n}\n";
        var ex = Assert.Throws<ShaderCompilationException>(() => Backend.Shaders.Compile("broken_kernel.comp", source).Dispose());
        Assert.That(ex!.FileName, Is.EqualTo("broken_kernel.comp"));
        Assert.That(ex.InfoLog, Is.Not.Empty);
        Assert.That(ex.Message, Does.Contain("broken_kernel.comp").And.Contain(ex.InfoLog.Trim()));
    }

    [Test]
    public void ShaderErrorInAnIncludingFileNamesTheSources()
    {
        const string source = "#version 430\n#include \"common.glsl\"\nvoid main() { undefinedFunction(); }\n";
        var ex = Assert.Throws<ShaderCompilationException>(() => Backend.Shaders.Compile("uses_common.comp", source).Dispose());
        Assert.That(ex!.Message, Does.Contain("undefinedFunction").And.Contain("1 = common.glsl"));
    }

    [Test]
    public void UnknownShaderFileListsTheEmbeddedOnes()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => ShaderLibrary.LoadSource("missing.comp"));
        Assert.That(ex!.Message, Does.Contain("conv2d.comp"));
    }

    [Test]
    public void PreprocessorPutsDefinesAfterVersionAndInlinesIncludes()
    {
        var names = new List<string>();
        string text = ShaderLibrary.Preprocess("optimizers.comp", "FIRST;SECOND=2", names);
        var lines = text.Split('\n');
        Assert.That(lines[0], Does.StartWith("#version 430"));
        Assert.That(lines[1], Is.EqualTo("#define FIRST"));
        Assert.That(lines[2], Is.EqualTo("#define SECOND 2"));
        Assert.That(text, Does.Contain("uniform uint groupOffset;"));
        Assert.That(lines.Where(line => line.TrimStart().StartsWith("#include")), Is.Empty);
        Assert.That(names, Is.EqualTo(new[] { "optimizers.comp", "common.glsl", "segments.glsl" }));
    }

    [Test]
    public void LargeDispatchesAreSplitWithoutChangingTheIndexSpace()
    {
        const string source = "#version 430\n#include \"common.glsl\"\n" +
            "layout(std430, binding = 3) writeonly buffer Output { float o[]; };\nuniform int count;\n" +
            "void main() { int i = flatIndex(); if (i < count) o[i] = float(i); }\n";
        const int Count = 100_000;
        using var program = Backend.Shaders.Compile("index.comp", source);
        using var output = new GLBuffer(Device, Count);
        Device.BindStorage(StorageBinding.Output0, output);
        program.SetUniform("count", Count);
        program.Dispatch(Count, 1, costPerInvocation: 1L << 20); // forces one work group per glDispatchCompute
        var values = new float[Count];
        output.Download(values);
        Assert.That(values, Is.EqualTo(Enumerable.Range(0, Count).Select(i => (float)i).ToArray()));
    }

    static Exception? Catch(Action action)
    {
        try { action(); return null; }
        catch (Exception e) { return e; }
    }
}
