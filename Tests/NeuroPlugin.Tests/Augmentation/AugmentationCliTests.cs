namespace NeuroPlugin.Tests.DataAugmentation;

/// <summary><c>neuro train --augment</c>: an unknown name is one line on stderr, before any data is read.</summary>
[NonParallelizable] // redirects the process-wide Console
public class AugmentationCliTests
{
    [Test]
    public void UnknownAugmentationIsOneLine()
    {
        var (code, _, error) = NeuroCli.Run("train", "--backend", "cpu", "--data-dir", "/nonexistent/neuro-data", "--augment", "crop,rotate");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error.Trim(), Is.EqualTo("neuro: --augment: unknown augmentation 'rotate'; known: crop, flip, cutout, erasing, mixup"));
    }
}
