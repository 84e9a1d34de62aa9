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

    [Test]
    public void WarmUp_ChangesNothingTheGameSees_AndTheFirstFramePlansWithMeasuredCosts() =>
        OnlineLearnerTests.AssertWarmUpChangesNothing(NeuroDevice.Of(Backend));

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

    /// <summary>A frame observed once serves both: added from the observation it trains as the texture added directly does
    /// (the same bits), and predicted from it gives what the texture predicted directly gives (the same bits).</summary>
    [Test]
    public void ObservedTextures_TrainAndPredictAsTheTexturesThemselves()
    {
        using var folder = Folder();
        string model = SaveLeNet(folder.Path);
        using var observing = OnlineLearner.Create(model, NeuroDevice.Of(Backend), SmallBatches);
        using var direct = OnlineLearner.Create(model, NeuroDevice.Of(Backend), SmallBatches);
        var fromObservation = observing.Model.CreatePrediction();
        var fromTexture = direct.Model.CreatePrediction();
        for (int i = 0; i < 6; i++)
        {
            using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 40, 36);
            texture.Upload(Pixels(40, 36, seed: 40 + i));
            observing.Observe(texture.Name);
            observing.AddObservation(i % 10);
            direct.AddTexture(texture.Name, i % 10);
            observing.Model.Predict(observing.Observation, fromObservation);
            direct.Model.PredictTexture(texture.Name, fromTexture);
            Assert.That(fromObservation.Outputs().ToArray(), Is.EqualTo(fromTexture.Outputs().ToArray()), $"frame {i}");
        }
        Assert.That((observing.Train(2), direct.Train(2)), Is.EqualTo((2, 2)));
        foreach (string name in direct.Network.ParameterNames)
            Assert.That(observing.Network.Parameter(name).ToArray(), Is.EqualTo(direct.Network.Parameter(name).ToArray()), $"{name} (bit for bit)");
    }

    /// <summary>A game's frame through the learner (Samples/InGameLearning's loop): observe the texture, add it, start a
    /// prediction from the observation when a result is free, poll, step within a budget. After warm-up it allocates
    /// nothing and reads nothing back synchronously.</summary>
    [Test]
    public void ObservingAddingStartingAndStepping_AllocateNothingAndReadBackNothingSynchronously()
    {
        using var folder = Folder();
        using var learner = OnlineLearner.Create(SaveLeNet(folder.Path), NeuroDevice.Of(Backend), SmallBatches with
        {
            ReplayCapacity = 32,
            Model = new NeuroModelOptions { MaxInFlight = 2 },
        });
        using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 32, 32);
        texture.Upload(Pixels(32, 32, seed: 41));
        var results = new[] { learner.Model.CreatePrediction(), learner.Model.CreatePrediction() };
        var top = new ClassScore[3];
        int started = 0;
        void Frame(int frame)
        {
            learner.Observe(texture.Name);
            learner.AddObservation(frame % 10);
            var result = results[frame % 2];
            if (!result.IsPending)
            {
                _ = learner.Model.Start(learner.Observation, result);
                started++;
            }
            learner.Model.Poll();
            if (results[(frame + 1) % 2].IsReady) results[(frame + 1) % 2].Top(top);
            learner.Step(0.5);
        }
        AllocationAssert.SteadyStateAllocatesNothing(Frame, 20, "managed bytes allocated by 20 frames of observing, adding, predicting and stepping", Backend);
        Assert.That(learner.Steps, Is.GreaterThan(0), "it trained");
        Assert.That(started, Is.GreaterThan(20), "it predicted");
        while (learner.Model.InFlight > 0) learner.Model.Poll();
    }
}
