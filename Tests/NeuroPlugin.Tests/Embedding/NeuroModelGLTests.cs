using NeuroPlugin.Tests.InGame;
using Silk.NET.OpenGL;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// The game-facing API on GL (llvmpipe here): the same outputs as the CPU device for floats, pixels and batches; a
/// texture through the model's preprocessing on the GPU equals its pixels through the CPU path; a start returns before its
/// result and completes at a later poll (awaiting continuations run there); no allocation and no synchronous readback
/// per started prediction; calls from another thread, and a game context that was released, replaced or destroyed, are
/// typed errors before any GL command.
/// </summary>
public sealed class NeuroModelGLTests : GLFixture
{
    SavedLeNet lenet = null!;

    [OneTimeSetUp]
    public void CreateModel() => lenet = new SavedLeNet(seed: 6);

    [OneTimeTearDown]
    public void DeleteModel() => lenet.Dispose();

    [Test]
    public void FloatsPixelsAndBatches_EqualTheCpuDevice()
    {
        using var gl = NeuroModel.Load(lenet.Path, NeuroDevice.Of(Device));
        using var cpu = NeuroModel.Load(lenet.Path, NeuroDevice.Cpu);
        Assert.That(gl.DeviceName, Does.StartWith("gl ("));
        var inputs = Inputs(3 * 784, seed: 11);
        var pixels = Pixels(50, 40, seed: 11);
        var (onGL, onCpu) = (gl.CreatePrediction(3), cpu.CreatePrediction(3));
        gl.Predict(inputs, onGL);
        cpu.Predict(inputs, onCpu);
        for (int i = 0; i < 3; i++)
        {
            TensorAssert.AreClose(onCpu.Outputs(i), onGL.Outputs(i), TwinBackends.Tolerance, $"floats, item {i}");
            TensorAssert.AreClose(onCpu.Probabilities(i), onGL.Probabilities(i), TwinBackends.Tolerance, $"probabilities, item {i}");
        }
        gl.PredictPixels(pixels, 50, 40, onGL);
        cpu.PredictPixels(pixels, 50, 40, onCpu);
        TensorAssert.AreClose(onCpu.Outputs(), onGL.Outputs(), TwinBackends.Tolerance, "pixels");
        Assert.That(onGL.Best().Index, Is.EqualTo(onCpu.Best().Index));
    }

    [Test]
    public void Texture_EqualsItsPixelsThroughTheCpuPath()
    {
        using var gl = NeuroModel.Load(lenet.Path, NeuroDevice.Of(Backend));
        using var cpu = NeuroModel.Load(lenet.Path, NeuroDevice.Cpu);
        var pixels = Pixels(64, 48, seed: 12);
        var expected = cpu.PredictPixels(pixels, 64, 48, RowOrder.TopDown);

        using var uploaded = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 64, 48);
        uploaded.Upload(pixels); // row 0 of the picture in texture row 0
        var result = gl.CreatePrediction();
        gl.PredictTexture(uploaded.Name, result, RowOrder.TopDown);
        TensorAssert.AreClose(expected.Outputs(), result.Outputs(), TwinBackends.Tolerance, "texture uploaded top-down");

        using var rendered = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 64, 48);
        var bottomUp = new byte[pixels.Length];
        for (int y = 0; y < 48; y++) pixels.AsSpan(y * 64 * 4, 64 * 4).CopyTo(bottomUp.AsSpan((47 - y) * 64 * 4));
        rendered.Upload(bottomUp); // as GL renders: the picture's top in the last row
        gl.PredictTexture(rendered.Name, result); // bottom-up is the default
        TensorAssert.AreClose(expected.Outputs(), result.Outputs(), TwinBackends.Tolerance, "texture as GL renders it");

        var batch = gl.CreatePrediction(2);
        gl.PredictTextures([uploaded.Name, rendered.Name], batch, RowOrder.TopDown);
        TensorAssert.AreClose(expected.Outputs(), batch.Outputs(0), TwinBackends.Tolerance, "batch item 0");
        Assert.That(batch.Outputs(1).ToArray(), Is.Not.EqualTo(batch.Outputs(0).ToArray()), "item 1 is the flipped picture read top-down");

        var error = Assert.Throws<ArgumentException>(() => gl.PredictTexture(987654, result));
        Assert.That(error!.Message, Does.Contain("texture 987654"));
    }

    [Test]
    public void Start_CompletesAtALaterPoll_WithTheSynchronousValues()
    {
        using var model = NeuroModel.Load(lenet.Path, NeuroDevice.Of(Backend));
        var inputs = Inputs(2 * 784, seed: 13);
        var first = model.CreatePrediction();
        var second = model.CreatePrediction();
        var expected = model.CreatePrediction(2);
        model.Predict(inputs, expected);

        long downloads = Backend.ReadbackCount;
        var firstTask = model.Start(inputs.AsSpan(0, 784), first);
        var secondTask = model.Start(inputs.AsSpan(784), second);
        Assert.That((first.IsPending, second.IsPending, firstTask.IsCompleted, model.InFlight), Is.EqualTo((true, true, false, 2)),
            "a start returns with its result on its way");
        Assert.Throws<InvalidOperationException>(() => first.Outputs(), "reading a pending result");
        Assert.Throws<InvalidOperationException>(() => model.Start(inputs.AsSpan(0, 784), first), "a second start into a pending result");

        int threadOfContinuation = -1;
        firstTask.GetAwaiter().OnCompleted(() => threadOfContinuation = Environment.CurrentManagedThreadId);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (model.InFlight > 0 && clock.Elapsed < TimeSpan.FromSeconds(30)) model.Poll();
        Assert.That((first.IsReady, second.IsReady, firstTask.IsCompletedSuccessfully, secondTask.IsCompletedSuccessfully), Is.EqualTo((true, true, true, true)));
        Assert.That(threadOfContinuation, Is.EqualTo(Environment.CurrentManagedThreadId), "the awaiting continuation ran inside Poll, on the model's thread");
        Assert.That(Backend.ReadbackCount, Is.EqualTo(downloads), "no synchronous download");
        Assert.That(first.Outputs().ToArray(), Is.EqualTo(expected.Outputs(0).ToArray()).Within(1e-5f));
        Assert.That(second.Outputs().ToArray(), Is.EqualTo(expected.Outputs(1).ToArray()).Within(1e-5f));
    }

    [Test]
    public void StartedTextures_AllocateNothingAndReadBackNothingSynchronously()
    {
        using var model = NeuroModel.Load(lenet.Path, NeuroDevice.Of(Backend));
        using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 32, 32);
        texture.Upload(Pixels(32, 32, seed: 14));
        var inputs = Inputs(784, seed: 14);
        var slots = new[] { model.CreatePrediction(), model.CreatePrediction() };
        var synchronous = model.CreatePrediction();
        var top = new ClassScore[3];
        void Frame(int frame)
        {
            var slot = slots[frame % 2];
            while (slot.IsPending) model.Poll();
            slot.Top(top);
            _ = model.StartTexture(texture.Name, slot);
            model.Poll();
        }
        model.Predict(inputs, synchronous);
        _ = model.StartTexture(texture.Name, slots[0]);
        _ = model.StartTexture(texture.Name, slots[1]);
        AllocationAssert.SteadyStateAllocatesNothing(Frame, 20, "managed bytes allocated by 20 frames of texture predictions", Backend);
        AllocationAssert.WarmUp(_ => model.Predict(inputs, synchronous));
        long downloads = Backend.ReadbackCount;
        Assert.That(AllocationAssert.AllocatedBy(() => { for (int i = 0; i < 5; i++) model.Predict(inputs, synchronous); }), Is.Zero, "synchronous floats");
        Assert.That(Backend.ReadbackCount, Is.EqualTo(downloads + 5), "a synchronous prediction downloads once");
        while (model.InFlight > 0) model.Poll();
    }

    [Test]
    public void CallsFromAnotherThread_AreWrongThreadErrors()
    {
        using var model = NeuroModel.Load(lenet.Path, NeuroDevice.Of(Backend));
        var result = model.CreatePrediction();
        var inputs = Inputs(784, seed: 15);
        var errors = new List<Exception?>();
        var thread = new Thread(() =>
        {
            errors.Add(Catch(() => model.Predict(inputs, result)));
            errors.Add(Catch(() => _ = model.Start(inputs, result)));
            errors.Add(Catch(() => model.Poll()));
        });
        thread.Start();
        thread.Join();
        foreach (var error in errors)
        {
            Assert.That(error, Is.TypeOf<WrongThreadException>());
            var wrong = (WrongThreadException)error!;
            Assert.That((wrong.OwnerThreadId, wrong.CallingThreadId), Is.EqualTo((Environment.CurrentManagedThreadId, thread.ManagedThreadId)));
        }
        Assert.That((result.Count, result.IsPending), Is.EqualTo((0, false)), "nothing ran");
        model.Predict(inputs, result); // the owner thread still can
    }

    [Test]
    public void AGameContextReleasedReplacedOrDestroyed_IsAContextLostError()
    {
        var inputs = Inputs(784, seed: 16);
        var game = GLDevice.CreateHeadless(); // the game's window context, current on this thread
        try
        {
            using var model = NeuroModel.Load(lenet.Path, NeuroDevice.CurrentContext(game.GL));
            var result = model.CreatePrediction();
            model.Predict(inputs, result);
            var expected = result.Outputs().ToArray();

            game.ReleaseCurrent(); // the game released its context
            var released = Assert.Throws<ContextLostException>(() => model.Predict(inputs, result));
            Assert.That(released!.Message, Does.Contain("no longer current"));
            game.MakeCurrent();
            model.Predict(inputs, result);
            Assert.That(result.Outputs().ToArray(), Is.EqualTo(expected), "usable again once it is current");

            using (var other = GLDevice.CreateHeadless()) // another context made current on this thread
                Assert.Throws<ContextLostException>(() => _ = model.Start(inputs, result));
            game.MakeCurrent();

            game.Dispose(); // the game destroyed its context
            Assert.Throws<ContextLostException>(() => model.Predict(inputs, result));
            Assert.Throws<ContextLostException>(() => model.Poll());
        }
        finally
        {
            game.Dispose();
        }
    }

    [Test]
    public void ASharedDeviceThatWasDisposed_IsAContextLostError()
    {
        var game = GLDevice.CreateHeadless();
        using var model = NeuroModel.Load(lenet.Path, NeuroDevice.Of(game));
        var result = model.CreatePrediction();
        model.Predict(Inputs(784, seed: 17), result);
        game.Dispose();
        var error = Assert.Throws<ContextLostException>(() => model.Predict(Inputs(784, seed: 17), result));
        Assert.That(error!.Message, Does.Contain("was disposed"));
    }

    [Test]
    public void HeadlessAndAutomaticDevices_MakeTheirOwnContext()
    {
        var inputs = Inputs(784, seed: 18);
        using var cpu = NeuroModel.Load(lenet.Path, NeuroDevice.Cpu);
        var expected = cpu.Predict(inputs).Outputs().ToArray();
        foreach (var device in new[] { NeuroDevice.HeadlessGL, NeuroDevice.Auto })
        {
            using var model = NeuroModel.Load(lenet.Path, device);
            Assert.That(model.DeviceName, Does.StartWith("gl ("), device.ToString());
            TensorAssert.AreClose(expected, model.Predict(inputs).Outputs(), TwinBackends.Tolerance, device.ToString());
        }
    }
}
