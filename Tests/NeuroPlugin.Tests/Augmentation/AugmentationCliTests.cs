using NeuroPlugin.Editor;

namespace NeuroPlugin.Tests.DataAugmentation;

/// <summary><c>neuro train --augment</c>: an unknown name is one line on stderr, before any data is read.</summary>
[NonParallelizable] // redirects the process-wide Console
public class AugmentationCliTests
{
    [Test]
    public void UnknownAugmentationIsOneLine()
    {
        var (oldOut, oldError) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        int code;
        try
        {
            code = Program.Main(["train", "--backend", "cpu", "--data-dir", "/nonexistent/neuro-data", "--augment", "crop,rotate"]);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error.ToString().Trim(), Is.EqualTo("neuro: --augment: unknown augmentation 'rotate'; known: crop, flip, cutout, erasing, mixup"));
    }
}
