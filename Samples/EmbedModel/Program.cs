// A game-style host embedding a trained NeuroPlugin model through the game-facing API (one `using NeuroPlugin;`).
//
// A game owns its OpenGL context and its textures; the model borrows the context and reads the textures. Here a headless
// EGL context plays the game's window context and Fashion-MNIST test images play the game's textures; everything after
// "the game's side" is what a game would write:
//   1. load the model onto the game's current GL context    NeuroModel.Load(path, NeuroDevice.CurrentContext(gl))
//   2. make result buffers once                              model.CreatePrediction()
//   3. every frame: start a prediction from a texture (the model's own preprocessing, on the GPU) and read the ones the
//      GPU has finished — never a stall                      model.StartTexture(texture, result), result.IsReady
//   4. a batch at once, synchronously, from floats           model.Predict(inputs, batchResult)
//
// Run:  dotnet run --project Samples/EmbedModel -- [model.neuro] [images]
// (train a model first: neuro train --model lenet5 --out out/lenet5; the file carries its labels and normalization)

using NeuroPlugin;
using NeuroPlugin.Backends.OpenGL; // the stand-in for the game's context
using NeuroPlugin.Data;            // the test images the "game" shows
using NeuroPlugin.Serialization;
using Silk.NET.OpenGL;

string modelPath = args.Length > 0 ? args[0] : "out/lenet5/model.neuro";
int imageCount = args.Length > 1 && int.TryParse(args[1], out int n) && n > 0 ? n : 12;

try
{
    // The game's side: its engine created a GL context, made it current on the render thread, and has textures.
    using var gameContext = GLDevice.CreateHeadless();
    GL gl = gameContext.GL;
    var test = FashionMnist.LoadTest();
    imageCount = Math.Min(imageCount, test.Count);
    uint[] textures = new uint[imageCount];
    for (int i = 0; i < imageCount; i++) textures[i] = GameTextures.FromGrey(gl, test.GetImage(i), test.Width, test.Height);

    // 1–2. Load once (all GPU memory for one item is planned at the first prediction); results are reused.
    using var model = NeuroModel.Load(modelPath, NeuroDevice.CurrentContext(gl));
    Console.WriteLine($"GL: {model.DeviceName}; input {model.Input}, normalization {model.Metadata.Normalization?.ToString() ?? "unknown"}");
    var slots = new Prediction[3];
    var imageIn = new int[slots.Length]; // which image a slot's prediction is for; −1: free
    for (int s = 0; s < slots.Length; s++) (slots[s], imageIn[s]) = (model.CreatePrediction(), -1);
    var top = new ClassScore[3];

    // 3. "Frames": each reports the predictions the GPU has finished and starts the next texture's.
    int next = 0, correct = 0, reported = 0;
    while (reported < imageCount)
    {
        for (int s = 0; s < slots.Length; s++)
        {
            if (imageIn[s] < 0 || !slots[s].IsReady) continue; // IsReady polls the GPU; it never waits
            int image = imageIn[s];
            slots[s].Top(top);
            bool right = top[0].Index == test.Labels[image];
            if (right) correct++;
            Console.WriteLine($"image {image,3}: {top[0],-22} then {top[1]}, {top[2]}   actual {model.Labels[test.Labels[image]],-12} {(right ? "✓" : "✗")}");
            imageIn[s] = -1;
            reported++;
        }
        int free = Array.IndexOf(imageIn, -1);
        if (next < imageCount && free >= 0)
        {
            _ = model.StartTexture(textures[next], slots[free], RowOrder.TopDown); // uploaded top row first
            imageIn[free] = next++;
        }
    }
    Console.WriteLine($"textures: {correct}/{imageCount} correct");

    // 4. The same images as one batch of floats (pixels normalized by the file's statistics), read synchronously.
    var batch = model.CreatePrediction(imageCount);
    var inputs = new float[imageCount * model.InputLength];
    var normalization = model.Metadata.Normalization ?? throw new InvalidOperationException($"{modelPath} does not say how its inputs were normalized");
    for (int i = 0; i < imageCount; i++)
    {
        var pixels = test.GetImage(i);
        for (int p = 0; p < model.InputLength; p++) inputs[i * model.InputLength + p] = normalization.Apply(pixels[p]);
    }
    model.Predict(inputs, batch);
    int batchCorrect = 0;
    for (int i = 0; i < imageCount; i++) if (batch.Best(i).Index == test.Labels[i]) batchCorrect++;
    Console.WriteLine($"batch: {batchCorrect}/{imageCount} correct");

    foreach (uint texture in textures) gl.DeleteTexture(texture);
    return 0;
}
catch (Exception e) when (e is GLUnavailableException or ModelFileException or DatasetException or InvalidOperationException)
{
    Console.Error.WriteLine($"EmbedModel: {e.Message}");
    return 1;
}

/// <summary>Textures as a game has them: here, an 8-bit grey image uploaded as RGBA8, top row first.</summary>
static class GameTextures
{
    public static uint FromGrey(GL gl, ReadOnlySpan<byte> grey, int width, int height)
    {
        var rgba = new byte[width * height * 4];
        for (int p = 0; p < width * height; p++) (rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2], rgba[4 * p + 3]) = (grey[p], grey[p], grey[p], 255);
        uint texture = gl.CreateTexture(TextureTarget.Texture2D);
        gl.TextureStorage2D(texture, 1, SizedInternalFormat.Rgba8, (uint)width, (uint)height);
        gl.TextureSubImage2D(texture, 0, 0, 0, (uint)width, (uint)height, PixelFormat.Rgba, PixelType.UnsignedByte, (ReadOnlySpan<byte>)rgba);
        return texture;
    }
}
