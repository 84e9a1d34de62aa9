using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Validation mode on the GL device: binding checks against the kernels' interfaces, work groups run one at a
/// time in the chosen order, NaN-filled new buffers, and its settings from the environment.</summary>
public sealed class GLValidationModeTests : GLFixture
{
    const string Header = "#version 430\n#include \"common.glsl\"\n";

    void Validated(Action action, WorkGroupOrder order = WorkGroupOrder.Shuffled) => With(new GLValidationOptions(order, Seed: 5), action);

    /// <summary>Runs <paramref name="action"/> with <paramref name="options"/> (null: off), then restores what was set
    /// (validate.sh runs the whole suite in validation mode).</summary>
    void With(GLValidationOptions? options, Action action)
    {
        var before = Device.Validation;
        Device.Validation = options;
        try { action(); }
        finally { Device.Validation = before; }
    }

    [Test]
    public void ABufferBoundAsInputAndOutput_IsReported_UnlessTheKernelDeclaresItInPlace()
    {
        const string body = "layout(std430, binding = INPUT0) readonly buffer X { float x[]; };\n" +
            "layout(std430, binding = OUTPUT0) writeonly buffer Y { float y[]; };\n" +
            "void main() { int i = flatIndex(); if (i < 4) y[i] = 2.0 * x[i]; }\n";
        using var aliased = Backend.Shaders.Compile("aliased.comp", Header + body);
        using var inPlace = Backend.Shaders.Compile("in_place.comp", Header + "#pragma neuro_in_place(OUTPUT0, INPUT0)\n" + body);
        using var x = Backend.Allocate(new TensorShape(4), "x");
        x.Upload([1f, 2f, 3f, 4f]);
        Validated(() =>
        {
            Device.BindStorage(StorageBinding.Input0, Backend.BufferOf(x));
            Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(x));
            var fault = Assert.Throws<GLHazardException>(() => aliased.Dispatch(4, 1, 1))!;
            Assert.That((fault.Hazard, fault.Operation, fault.Buffer), Is.EqualTo((GLHazard.AliasedBinding, "aliased.comp", "x")));
            Device.BindStorage(StorageBinding.Input0, Backend.BufferOf(x));
            Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(x));
            inPlace.Dispatch(4, 1, 1);
        });
        Assert.That(x.ToArray(), Is.EqualTo(new[] { 2f, 4f, 6f, 8f }));
    }

    [Test]
    public void ABindingLeftOverFromTheLastKernel_IsReported()
    {
        using var a = Backend.Allocate(new TensorShape(4), "a");
        using var b = Backend.Allocate(new TensorShape(4), "b");
        Validated(() =>
        {
            Backend.Copy(a, b); // binds a at INPUT0
            Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(b));
            using var reader = Backend.Shaders.Compile("reader.comp", Header +
                "layout(std430, binding = INPUT0) readonly buffer X { float x[]; };\n" +
                "layout(std430, binding = OUTPUT0) writeonly buffer Y { float y[]; };\n" +
                "void main() { int i = flatIndex(); if (i < 4) y[i] = x[i]; }\n");
            var fault = Assert.Throws<GLHazardException>(() => reader.Dispatch(4, 1, 1))!;
            Assert.That((fault.Hazard, fault.Buffer), Is.EqualTo((GLHazard.UnboundBinding, "a")));
            Assert.That(fault.Message, Does.Contain("left over from an earlier kernel"));
        });
    }

    [Test]
    public void WorkGroupsRunOneAtATimeInTheChosenOrder_SoAnOrderDependentKernelChangesItsResult()
    {
        // group g adds one to what group g−1 wrote in the same dispatch: a dependence no driver promises to honour
        using var chain = Backend.Shaders.Compile("chain.comp", "#version 430\n#define LOCAL_SIZE_X 1\n#include \"common.glsl\"\n" +
            "layout(std430, binding = OUTPUT0) buffer O { float o[]; };\n" +
            "void main() { int g = flatIndex(); o[g] = g == 0 ? 1.0 : o[g - 1] + 1.0; }\n");
        using var output = Backend.Allocate(new TensorShape(8), "chain");
        Validated(() =>
        {
            Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(output));
            chain.Dispatch(8, 1, 1);
        }, WorkGroupOrder.Reversed);
        Assert.That(output.ToArray(), Is.EqualTo(Enumerable.Repeat(1f, 8).ToArray()), "last group first: each reads the zero its predecessor had not written yet");
    }

    [Test]
    public void BuffersWithoutPromisedContents_StartAsTheNaNPattern_AndAReadOfThemIsReported()
    {
        var values = new float[4];
        GLBuffer? scratch = null;
        try
        {
            Validated(() =>
            {
                scratch = new GLBuffer(Device, 4, "scratch", zeroed: false);
                var fault = Assert.Throws<GLHazardException>(() => scratch.Download(values))!;
                Assert.That((fault.Hazard, fault.Buffer), Is.EqualTo((GLHazard.UninitializedRead, "scratch")));
            });
            With(null, () => scratch!.Download(values));
            Assert.That(values.Select(BitConverter.SingleToUInt32Bits), Is.All.EqualTo(GLValidationOptions.NaNPattern));
        }
        finally
        {
            scratch?.Dispose();
        }
    }

    [Test]
    public void TheInterfaceOfAKernelVariant_ComesFromItsQualifiersAndTheDriversBindings()
    {
        var kernel = Backend.Shaders.Get("batchnorm.comp", "STATS_FINALIZE;TRAINING");
        var blocks = kernel.Interface.Blocks.OrderBy(b => b.Binding).Select(b => (b.Binding, b.Name, b.Access));
        Assert.That(blocks, Is.EqualTo(new[]
        {
            (StorageBinding.Input0, "PartialBuffer", StorageAccess.Read),
            (StorageBinding.Output0, "SaveMeanBuffer", StorageAccess.Write),
            (StorageBinding.Output1, "SaveInvStdBuffer", StorageAccess.Write),
            (StorageBinding.Output2, "RunningMeanBuffer", StorageAccess.ReadWrite),
            (StorageBinding.Output3, "RunningVarBuffer", StorageAccess.ReadWrite),
        }));
    }

    [TestCase("1", WorkGroupOrder.Shuffled, 1)]
    [TestCase("shuffled", WorkGroupOrder.Shuffled, 42)]
    [TestCase("reversed", WorkGroupOrder.Reversed, 1)]
    public void TheEnvironmentVariable_TurnsValidationOn(string mode, WorkGroupOrder order, int seed)
    {
        string? before = Environment.GetEnvironmentVariable(GLValidationOptions.EnvironmentVariable);
        string? seedBefore = Environment.GetEnvironmentVariable(GLValidationOptions.SeedEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(GLValidationOptions.EnvironmentVariable, mode);
            Environment.SetEnvironmentVariable(GLValidationOptions.SeedEnvironmentVariable, seed == 1 ? null : seed.ToString());
            Assert.That(GLValidationOptions.FromEnvironment(), Is.EqualTo(new GLValidationOptions(order, seed)));
            Environment.SetEnvironmentVariable(GLValidationOptions.EnvironmentVariable, "sometimes");
            Assert.That(Assert.Throws<ArgumentException>(() => GLValidationOptions.FromEnvironment())!.Message, Does.Contain("NEURO_GL_VALIDATE=sometimes"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(GLValidationOptions.EnvironmentVariable, before);
            Environment.SetEnvironmentVariable(GLValidationOptions.SeedEnvironmentVariable, seedBefore);
        }
    }
}
