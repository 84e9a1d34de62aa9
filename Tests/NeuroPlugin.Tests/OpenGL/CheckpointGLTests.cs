using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Exact resume on the GL backend: the experiment of <see cref="CheckpointRuns"/> (dropout, batch norm,
/// device augmentation, warm-up + cosine, mid-epoch stop, epoch boundary), GL straight against GL resumed.</summary>
public sealed class CheckpointGLTests : GLFixture
{
    [TestCase("momentum")]
    [TestCase("adam")]
    public void ResumedRun_IsBitIdenticalToTheStraightRun(string optimizer)
    {
        using var temp = new TempFolder("neuro-ckpt-gl");
        string folder = temp.Path;
        string checkpoint = Path.Combine(folder, "run.ckpt.neuro");
        var straight = CheckpointRuns.Straight(Backend, optimizer, checkpoint);
        Assert.That(TrainingCheckpoint.Read(checkpoint).Counters.BatchInEpoch, Is.EqualTo(5), "saved mid-epoch");
        var resumed = CheckpointRuns.Resumed(Backend, checkpoint);
        CheckpointRuns.AssertIdentical(straight, resumed);
    }
}
