using NeuroPlugin;
using NeuroPlugin.Tests.InGame;
using Silk.NET.OpenGL;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// README's "Learning while the game runs" example, compiled and run: the code between the markers below is the README's
/// block (after its <c>using NeuroPlugin;</c>), which the first test checks character for character, and the second runs
/// on the GL test context standing in for the game's, with Fashion-MNIST images as textures as the game's frames.
/// </summary>
[NonParallelizable] // sets the current directory: the example loads "model.neuro" and saves "game.ckpt.neuro"
public sealed class OnlineReadmeExampleTests() : ReadmeExampleFixture("### Learning while the game runs", "README online")
{
    [Test]
    public void TheReadmeExample_LearnsFromFramesAndSaves()
    {
        using var files = ModelFolder(seed: 9);
        var train = FashionMnist.LoadTrain();
        var frames = new List<(TestTexture Texture, int Label)>();
        for (int i = 0; i < 24; i++)
        {
            var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 28, 28);
            texture.Upload(BottomUpRgba(train.GetImage(i))); // as the game rendered it
            frames.Add((texture, train.Labels[i]));
        }

        GL gl = Device.GL; // the game's context, current on this thread
        var shown = new List<ClassScore>();
        void Show(ClassScore best) => shown.Add(best);
        using var inFiles = CurrentDirectory(files.Path);
        try
        {
        // README online: begin
        // Once, on the render thread: a model to go on training (OnlineLearner.Resume("game.ckpt.neuro", …) continues a game)
        using var learner = OnlineLearner.Create("model.neuro", NeuroDevice.CurrentContext(gl));
        var guess = learner.Model.CreatePrediction();
        learner.WarmUp(4); // on the loading screen: a step compiled and measured on a scratch copy, not in the first frames

        // Every frame: what the player saw and what it turned out to be, 4 ms of training, a guess from the current weights
        void Update(uint frameTexture, int whatItWas)
        {
            learner.AddTexture(frameTexture, whatItWas);
            learner.Step(4);
            if (guess.IsReady) Show(guess.Best()); // "Sneaker 61.2 %", from a frame or two ago
            if (!guess.IsPending) _ = learner.Model.StartTexture(frameTexture, guess);
        }

        // Now and then, and when the game quits (written beside it, then renamed: a failed save keeps the previous file)
        learner.Save("game.ckpt.neuro");
        // README online: end
            int frame = 0;
            for (; learner.Steps < 2; frame++)
            {
                Assert.That(frame, Is.LessThan(5000), "two steps within 5000 frames");
                var (texture, label) = frames[frame % frames.Count];
                Update(texture.Name, label);
            }
            Assert.That(learner.ExamplesAdded, Is.EqualTo(frame));
            Assert.That(shown, Is.Not.Empty, "guesses came back");
            Assert.That(shown.Select(s => s.Label).Distinct(), Is.SubsetOf(FashionMnist.ClassNames));
            learner.Save("game.ckpt.neuro");
            var checkpoint = TrainingCheckpoint.Read("game.ckpt.neuro");
            Assert.That(checkpoint.Counters.Step, Is.EqualTo(learner.Steps));
            Assert.That(ModelFile.ReadMetadata("game.ckpt.neuro").Labels, Is.EqualTo(FashionMnist.ClassNames), "the checkpoint keeps the labels");
            using var resumed = OnlineLearner.Resume("game.ckpt.neuro", NeuroDevice.CurrentContext(gl));
            Assert.That(resumed.Steps, Is.EqualTo(learner.Steps));
        }
        finally
        {
            foreach (var (texture, _) in frames) texture.Dispose();
        }
    }
}
