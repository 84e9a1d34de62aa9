// A game-style host embedding a trained NeuroPlugin model.
//
// A game owns its OpenGL context; the runtime borrows it. Here a headless EGL context plays the part
// of the game's window context, and everything after "the game's side" is what a game would write:
//   1. hand the current GL context to the runtime      GLDevice.FromCurrentContext(gl)
//   2. load the trained model onto the GL backend      ModelFile.Load(path, backend)
//   3. plan inference once, at the batch size you use  ExecutionPlan.ForInference(network, 1)
//   4. every frame: upload pixels, Forward, download   plan.Input.Upload / Forward / Output.Download
//
// Run:  dotnet run --project Samples/EmbedModel -- [model.neuro] [images]
// (train a model first: neuro train --model lenet5 --out out/lenet5)

using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

string modelPath = args.Length > 0 ? args[0] : "out/lenet5/model.neuro";
int imageCount = args.Length > 1 && int.TryParse(args[1], out int n) && n > 0 ? n : 12;

try
{
    // The game's side: its engine created a GL context and made it current on the render thread.
    using var gameContext = GLDevice.CreateHeadless();
    Silk.NET.OpenGL.GL gameGL = gameContext.GL;

    // 1. The runtime wraps the game's context; it never creates or destroys it.
    using var device = GLDevice.FromCurrentContext(gameGL);
    using var backend = new GLBackend(device, ownsDevice: false);
    Console.WriteLine($"GL: {device.Renderer} ({device.Version})");

    // 2–3. Load once, plan once: all GPU memory for inference is allocated here.
    using var network = ModelFile.Load(modelPath, backend);
    using var plan = ExecutionPlan.ForInference(network, 1);
    var pixels = new float[plan.Input.Length];
    var logits = new float[plan.Output.Length];

    // 4. "Frames": classify test images one at a time.
    var test = FashionMnist.LoadTest();
    var normalization = test.Normalization;
    int correct = 0;
    for (int i = 0; i < imageCount; i++)
    {
        var image = test.GetImage(i);
        for (int p = 0; p < pixels.Length; p++) pixels[p] = normalization.Apply(image[p]);
        plan.Input.Upload(pixels);
        plan.Forward();
        plan.Output.Download(logits); // the one readback of the frame: 10 floats
        int predicted = Classification.ArgMax(logits);
        int label = test.Labels[i];
        if (predicted == label) correct++;
        Console.WriteLine($"image {i,3}: predicted {FashionMnist.ClassNames[predicted],-12} actual {FashionMnist.ClassNames[label],-12} {(predicted == label ? "✓" : "✗")}");
    }
    Console.WriteLine($"{correct}/{imageCount} correct");
    return 0;
}
catch (Exception e) when (e is GLUnavailableException or ModelFileException or DatasetException)
{
    Console.Error.WriteLine($"EmbedModel: {e.Message}");
    return 1;
}
