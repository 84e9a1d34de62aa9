namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// The one headless GL device (debug mode) and backend shared by every GL test, created on first use.
/// A GL context is current on one thread, so fixtures derive from <see cref="GLFixture"/>, which runs all
/// of a fixture on one thread and hands the context to that thread. If GL cannot be created the tests
/// fail with the <see cref="GLUnavailableException"/> message (CI installs Mesa), unless NEURO_SKIP_GL=1.
/// </summary>
static class GLTestContext
{
    static GLDevice? device;
    static GLBackend? backend;
    static GLUnavailableException? unavailable;

    public static bool SkipRequested => Environment.GetEnvironmentVariable("NEURO_SKIP_GL") == "1";

    /// <summary>The shared backend, its context current on the calling thread (restored if a test made
    /// another context current here).</summary>
    public static GLBackend Acquire()
    {
        if (SkipRequested) Assert.Ignore("NEURO_SKIP_GL=1: OpenGL tests skipped");
        if (unavailable is not null) Assert.Fail(unavailable.Message);
        if (backend is null)
        {
            try
            {
                device = GLDevice.CreateHeadless(debug: true);
                backend = new GLBackend(device, ownsDevice: false);
                TestContext.Progress.WriteLine($"GL tests on: {device.Describe()}" +
                    (device.Validation is { } validation ? $", validation mode {validation.Order} (seed {validation.Seed})" : ""));
                ReadbackDigest.Attach(backend);
            }
            catch (GLUnavailableException e)
            {
                unavailable = e;
                Assert.Fail(e.Message);
            }
        }
        else
        {
            device!.MakeCurrent();
        }
        return backend!;
    }

    /// <summary>Detaches the context from this thread so another fixture's thread can take it.</summary>
    public static void Release()
    {
        if (backend is not null && backend.Device.OwnerThreadId == Environment.CurrentManagedThreadId)
            backend.Device.ReleaseCurrent();
    }

    /// <summary>Disposes the shared backend and device at the end of the run; once the backend released its
    /// cached programs and scratch buffers, the device must hold no GL object at all.</summary>
    public static void Shutdown()
    {
        if (backend is null || device is null) return;
        device.MakeCurrent();
        ReadbackDigest.Write();
        backend.Dispose();
        int leaked = device.LiveObjectCount;
        device.Dispose();
        backend = null;
        device = null;
        Assert.That(leaked, Is.Zero, "GL objects still alive after every GL test ran and the backend was disposed");
    }
}

/// <summary>Disposes the shared GL device after every GL fixture ran.</summary>
[SetUpFixture]
public sealed class GLTestSetUp
{
    [OneTimeTearDown]
    public void DisposeSharedDevice() => GLTestContext.Shutdown();
}

/// <summary>The backend a <see cref="BackendFixture"/> runs its tests on.</summary>
public enum BackendUnderTest { Cpu, GL }

/// <summary>
/// Base of the fixtures that run their tests on a backend given as the fixture's argument: a fixture marked
/// <c>[TestFixture(BackendUnderTest.Cpu)]</c> and <c>[TestFixture(BackendUnderTest.GL)]</c> runs the same checks on both.
/// On the CPU every test gets a <see cref="CpuBackend"/> of its own. On GL every test gets the shared backend current on
/// its thread; after each test the GL error state must be clean and every GL object the test made must be gone (live
/// objects minus the backend's own cached programs and scratch buffers return to the baseline).
/// </summary>
[SingleThreaded, NonParallelizable]
public abstract class BackendFixture(BackendUnderTest kind)
{
    int baseline;

    /// <summary>The running test's backend.</summary>
    protected IBackend Backend { get; private set; } = null!;

    [OneTimeSetUp]
    public void AcquireDevice()
    {
        if (kind == BackendUnderTest.GL) Backend = GLTestContext.Acquire();
    }

    [OneTimeTearDown]
    public void ReleaseDevice()
    {
        if (kind == BackendUnderTest.GL) GLTestContext.Release();
    }

    [SetUp]
    public void RecordBaseline()
    {
        if (kind == BackendUnderTest.Cpu)
        {
            Backend = new CpuBackend();
            return;
        }
        var gl = GLTestContext.Acquire(); // restores the context if a test made another one current
        Backend = gl;
        baseline = CallerObjects(gl);
    }

    [TearDown]
    public void CheckCleanState()
    {
        if (Backend is CpuBackend cpu)
        {
            cpu.Dispose();
            return;
        }
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Skipped) return;
        var gl = GLTestContext.Acquire();
        Backend = gl;
        gl.Device.CheckErrors("test " + TestContext.CurrentContext.Test.Name);
        Assert.That(CallerObjects(gl), Is.EqualTo(baseline), "GL objects leaked by the test (buffers + programs, excluding the backend's cache)");
    }

    static int CallerObjects(GLBackend gl) => gl.Device.LiveObjectCount - gl.InternalObjectCount;
}

/// <summary>Base of the GL fixtures: a <see cref="BackendFixture"/> on the shared GL backend, seen as a <see cref="GLBackend"/>.</summary>
public abstract class GLFixture() : BackendFixture(BackendUnderTest.GL)
{
    protected new GLBackend Backend => (GLBackend)base.Backend;
    protected GLDevice Device => Backend.Device;

    /// <summary>Writes <paramref name="lanes"/> into the padding lanes of <paramref name="x"/> (GL tensors are whole vec4s),
    /// from index <c>x.Length</c> on (in its buffer, from its offset on), with a kernel: uploads and fills keep padding finite,
    /// and kernels must ignore it.</summary>
    protected void WritePadding(Tensor x, params float[] lanes)
    {
        var source = new System.Text.StringBuilder("#version 430\nlayout(local_size_x = 1) in;\n" +
            "layout(std430, binding = OUTPUT0) buffer X { float x[]; };\nvoid main() {\n");
        for (int i = 0; i < lanes.Length; i++)
            source.Append($"  x[{Backend.OffsetOf(x) + x.Length + i}] = uintBitsToFloat({BitConverter.SingleToUInt32Bits(lanes[i])}u);\n");
        using var kernel = Backend.Shaders.Compile("padding.comp", source.Append("}\n").ToString());
        Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(x));
        kernel.Dispatch(1, 1, 1);
    }
}
