using NeuroPlugin.Tests.InGame;
using Silk.NET.OpenGL;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>The online learner on the GL device: the context rules as typed errors before anything runs, and textures
/// learned from on the device, giving the weights the same examples give on the CPU.</summary>
public sealed class OnlineLearnerGLTests : GLFixture
{
    [Test]
    public void NonFiniteExamples_AreSkippedSteps_ThatLeaveWeightsAndStatisticsAlone() =>
        OnlineLearnerTests.AssertNonFiniteStepsAreSkipped(NeuroDevice.Of(Backend));

    static OnlineLearnerOptions SmallBatches => new() { Training = new() { Optimizer = "adam", Schedule = "constant", BatchSize = 4, Seed = 2 } };

    [Test]
    public void CallsFromAnotherThread_AreWrongThreadErrors()
    {
        using var folder = Folder();
        using var learner = OnlineLearner.Create(SaveLeNet(folder.Path), NeuroDevice.Of(Backend), SmallBatches);
        var input = Inputs(784, seed: 24);
        var errors = new List<Exception?>();
        var thread = new Thread(() =>
        {
            errors.Add(Catch(() => learner.Add(input, 1)));
            errors.Add(Catch(() => learner.AddTexture(1, 1)));
            errors.Add(Catch(() => learner.Step(4)));
            errors.Add(Catch(() => learner.Train(1)));
            errors.Add(Catch(() => learner.Save(Path.Combine(folder.Path, "x.ckpt.neuro"))));
        });
        thread.Start();
        thread.Join();
        Assert.That(errors, Has.Count.EqualTo(5));
        foreach (var error in errors)
        {
            Assert.That(error, Is.TypeOf<WrongThreadException>());
            var wrong = (WrongThreadException)error!;
            Assert.That((wrong.OwnerThreadId, wrong.CallingThreadId), Is.EqualTo((Environment.CurrentManagedThreadId, thread.ManagedThreadId)));
        }
        Assert.That(learner.ExamplesAdded, Is.Zero, "nothing ran");
        Assert.That(File.Exists(Path.Combine(folder.Path, "x.ckpt.neuro")), Is.False);
        learner.Add(input, 1); // the owner thread still can
    }

    /// <summary>The same frames as textures on GL and as pixels on the CPU, two steps each: the same weights up to the
    /// backends' rounding (the GL texture reader and the CPU transform agree to float precision).</summary>
    [Test]
    public void Textures_TrainAsTheirPixelsDoOnTheCpu()
    {
        using var folder = Folder();
        string model = SaveLeNet(folder.Path);
        var sgd = SmallBatches with { Training = SmallBatches.Training with { Optimizer = "sgd", LearningRate = 0.05f } }; // Adam's first steps are ±lr whatever the gradient's size
        using var gl = OnlineLearner.Create(model, NeuroDevice.Of(Backend), sgd);
        using var cpu = OnlineLearner.Create(model, NeuroDevice.Cpu, sgd);
        for (int i = 0; i < 6; i++)
        {
            var pixels = Pixels(56, 56, seed: 30 + i);
            var bottomUp = new byte[pixels.Length];
            for (int y = 0; y < 56; y++) pixels.AsSpan(y * 56 * 4, 56 * 4).CopyTo(bottomUp.AsSpan((55 - y) * 56 * 4));
            using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 56, 56);
            texture.Upload(bottomUp); // as the game rendered it
            gl.AddTexture(texture.Name, i % 10);
            cpu.AddPixels(pixels, 56, 56, i % 10);
        }
        Assert.That((gl.Train(2), cpu.Train(2)), Is.EqualTo((2, 2)));
        foreach (string name in cpu.Network.ParameterNames)
            TestSupport.TensorAssert.AreClose(cpu.Network.Parameter(name).ToArray(), gl.Network.Parameter(name).ToArray(), 1e-3, name);
        Assert.That(gl.NonFiniteCount, Is.Zero);
    }
}
