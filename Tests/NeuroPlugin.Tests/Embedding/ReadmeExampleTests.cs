using NeuroPlugin;
using NeuroPlugin.Tests.InGame;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Silk.NET.OpenGL;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// README's "Embed in your game" example, compiled and run: the code between the markers below is the README's block
/// (after its <c>using NeuroPlugin;</c>), which the first test checks character for character, and the second runs on
/// the GL test context standing in for the game's, with a texture as the game's frame.
/// </summary>
[NonParallelizable] // sets the current directory: the example loads "model.neuro" and "photo.png"
public sealed class ReadmeExampleTests() : ReadmeExampleFixture("## Embed in your game", "README")
{
    [Test]
    public void TheReadmeExample_ShowsTheFramesLabels()
    {
        using var files = ModelFolder(seed: 8);
        var test = FashionMnist.LoadTest();
        var rgba = new byte[28 * 28 * 4];
        var grey = test.GetImage(0);
        for (int p = 0; p < 784; p++) (rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2], rgba[4 * p + 3]) = (grey[p], grey[p], grey[p], 255);
        using (var image = Image.LoadPixelData<Rgba32>(rgba, 28, 28)) image.SaveAsPng(Path.Combine(files.Path, "photo.png"));
        using var frame = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, 28, 28);
        frame.Upload(BottomUpRgba(grey)); // as the game rendered it

        GL gl = Device.GL; // the game's context, current on this thread
        var shown = new List<string>();
        void Show(string text) => shown.Add(text);
        using var inFiles = CurrentDirectory(files.Path);
        // README: begin
        // Once, on the render thread, with the game's GL context current (or NeuroDevice.Cpu / NeuroDevice.Auto):
        using var model = NeuroModel.Load("model.neuro", NeuroDevice.CurrentContext(gl));
        var result = model.CreatePrediction(); // reused: predicting allocates nothing
        var top = new ClassScore[3];

        // Every frame: the frame's texture in (resized and normalized as the model file says, on the GPU), labelled
        // probabilities out once the GPU is done, a frame or two later: the game never waits.
        void Update(uint frameTexture)
        {
            if (result.IsReady) { result.Top(top); Show($"{top[0]}, {top[1]}, {top[2]}"); } // "Sneaker 97.1 %, …"
            if (!result.IsPending) _ = model.StartTexture(frameTexture, result);
        }

        // Or at once, from a PNG or JPEG (or pixels, floats, several at a time):
        ClassScore best = model.PredictImage("photo.png").Best();
        // README: end
        for (int i = 0; i < 1000 && shown.Count < 3; i++) Update(frame.Name);
        Assert.That(shown, Has.Count.EqualTo(3), "three results shown within 1000 frames");
        Assert.That(shown.Distinct().Count(), Is.EqualTo(1), "the same frame, the same labels");
        Assert.That(shown[0], Does.StartWith($"{best.Label} "), "the texture and the PNG agree on the best class");
        Assert.That(shown[0], Does.Match(@"^\S.* \d+\.\d %, \S.* \d+\.\d %, \S.* \d+\.\d %$"));
        Assert.That(FashionMnist.ClassNames, Does.Contain(best.Label));
    }
}
