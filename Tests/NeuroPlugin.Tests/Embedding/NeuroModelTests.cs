using NeuroPlugin.Serialization.Onnx;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// The game-facing API on the CPU device: every input kind gives the runtime plan's outputs and their softmax (values
/// checked against a plan of the test's own, a softmax in double, and preprocessing computed by hand), batches equal
/// single items, top-k is ordered and labelled, starts complete, every misuse is a typed error naming both shapes, and
/// nothing is allocated per prediction after warm-up.
/// </summary>
public sealed class NeuroModelTests : TempFolderFixture
{
    string path = null!;

    [SetUp]
    public void SaveModel() => path = SaveLeNet(Folder.Path);

    [Test]
    public void Floats_GiveThePlansOutputsAndTheirSoftmax()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        Assert.That(model.DeviceName, Does.StartWith("cpu"));
        Assert.That((model.InputLength, model.OutputLength, model.ClassCount), Is.EqualTo((784, 10, 10)));
        Assert.That(model.Labels, Is.EqualTo(FashionMnist.ClassNames));
        var input = Inputs(784, seed: 1);
        var result = model.CreatePrediction();
        model.Predict(input, result);

        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(path, cpu);
        var logits = Outputs(network, input, 1);
        Assert.That(result.Outputs().ToArray(), Is.EqualTo(logits), "the same plan on the same backend: the same bits");
        TensorAssert.AreClose(Softmax(logits, 10), result.Probabilities(), 1e-6, "softmax");
        Assert.That(result.Probabilities().ToArray().Sum(), Is.EqualTo(1).Within(1e-5));
        int best = Array.IndexOf(logits, logits.Max());
        Assert.That(result.Best(), Is.EqualTo(new ClassScore(best, FashionMnist.ClassNames[best], result.Probabilities()[best])));
        Assert.That((result.Count, result.Version, result.IsReady), Is.EqualTo((1, 1L, true)));
    }

    [Test]
    public void Batch_EqualsItsItemsOneByOne()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var batch = model.CreatePrediction(capacity: 4);
        var inputs = Inputs(3 * 784, seed: 2);
        model.Predict(inputs, batch); // 3 of the 4 it holds
        Assert.That(batch.Count, Is.EqualTo(3));
        var single = model.CreatePrediction();
        for (int i = 0; i < 3; i++)
        {
            model.Predict(inputs.AsSpan(i * 784, 784), single);
            TensorAssert.AreClose(single.Outputs(), batch.Outputs(i), 1e-5, $"item {i}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Outputs(3));
    }

    [Test]
    public void Top_IsOrderedByProbabilityAndLabelled()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var result = model.Predict(Inputs(784, seed: 3));
        var top = new ClassScore[4];
        Assert.That(result.Top(top), Is.EqualTo(4));
        var expected = result.Probabilities().ToArray().Select((p, k) => (p, k)).OrderByDescending(x => x.p).ThenBy(x => x.k).Take(4).ToArray();
        Assert.That(top.Select(s => s.Index), Is.EqualTo(expected.Select(x => x.k)));
        Assert.That(top.Select(s => s.Probability), Is.EqualTo(expected.Select(x => x.p)));
        Assert.That(top.Select(s => s.Label), Is.EqualTo(expected.Select(x => FashionMnist.ClassNames[x.k])));
        Assert.That(top[0], Is.EqualTo(result.Best()));
        var all = new ClassScore[12];
        Assert.That(result.Top(all), Is.EqualTo(10), "at most K");
    }

    [Test]
    public void Pixels_AreNormalizedAsTheFileSays()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        // a 56×56 image: area-resized by 2 (each input pixel is the mean of 2×2), then luma and (v − mean)/std by hand
        var pixels = Pixels(56, 56, seed: 4);
        var expected = new float[784];
        for (int i = 0; i < 28; i++)
            for (int j = 0; j < 28; j++)
            {
                double r = 0, g = 0, b = 0;
                foreach (var (y, x) in new[] { (2 * i, 2 * j), (2 * i, 2 * j + 1), (2 * i + 1, 2 * j), (2 * i + 1, 2 * j + 1) })
                {
                    int at = (y * 56 + x) * 4;
                    (r, g, b) = (r + pixels[at] / 255.0, g + pixels[at + 1] / 255.0, b + pixels[at + 2] / 255.0);
                }
                double luma = (0.299 * r + 0.587 * g + 0.114 * b) / 4;
                expected[i * 28 + j] = (float)((luma - FashionMnist.PixelMean) / FashionMnist.PixelStd);
            }
        var fromPixels = model.CreatePrediction();
        model.PredictPixels(pixels, 56, 56, fromPixels);
        var fromFloats = model.CreatePrediction();
        model.Predict(expected, fromFloats);
        TensorAssert.AreClose(fromFloats.Outputs(), fromPixels.Outputs(), 1e-5, "outputs of hand-normalized floats vs pixels");

        // bottom-up rows are the same picture flipped
        var flipped = new byte[pixels.Length];
        for (int y = 0; y < 56; y++) pixels.AsSpan(y * 56 * 4, 56 * 4).CopyTo(flipped.AsSpan((55 - y) * 56 * 4));
        var fromFlipped = model.CreatePrediction();
        model.PredictPixels(flipped, 56, 56, fromFlipped, RowOrder.BottomUp);
        Assert.That(fromFlipped.Outputs().ToArray(), Is.EqualTo(fromPixels.Outputs().ToArray()));

        // two images at once
        var both = model.CreatePrediction(2);
        model.PredictPixels([.. pixels, .. flipped], 56, 56, both);
        TensorAssert.AreClose(fromPixels.Outputs(), both.Outputs(0), 1e-5, "batch item 0 (a batch of 2 sums in another order)");
        TensorAssert.AreClose(Softmax(fromPixels.Outputs().ToArray(), 10), both.Probabilities(0), 1e-6, "batch item 0");
    }

    [Test]
    public void PngAndJpeg_AreDecodedToThePixelsPath()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var pixels = Pixels(40, 30, seed: 5);
        using var image = Image.LoadPixelData<Rgba32>(pixels, 40, 30);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        var fromPng = model.CreatePrediction();
        model.PredictImage(png.ToArray(), fromPng);
        var expected = model.CreatePrediction();
        model.PredictPixels(pixels, 40, 30, expected);
        Assert.That(fromPng.Outputs().ToArray(), Is.EqualTo(expected.Outputs().ToArray()), "PNG is lossless");

        using var jpeg = new MemoryStream();
        image.SaveAsJpeg(jpeg);
        jpeg.Position = 0;
        var fromJpeg = model.CreatePrediction();
        model.PredictImage(jpeg, fromJpeg);
        using var decoded = Image.Load<Rgba32>(jpeg.ToArray());
        var decodedPixels = new byte[40 * 30 * 4];
        decoded.CopyPixelDataTo(decodedPixels);
        model.PredictPixels(decodedPixels, 40, 30, expected);
        Assert.That(fromJpeg.Outputs().ToArray(), Is.EqualTo(expected.Outputs().ToArray()));

        string file = Path.Combine(Folder.Path, "picture.png");
        File.WriteAllBytes(file, png.ToArray());
        Assert.That(model.PredictImage(file).Outputs().ToArray(), Is.EqualTo(fromPng.Outputs().ToArray()));

        var error = Assert.Throws<DatasetException>(() => model.PredictImage(new byte[] { 0x42, 0x4D, 1, 2, 3, 4, 5, 6 }, fromPng));
        Assert.That(error!.Message, Does.StartWith("image: not a PNG or JPEG"));
    }

    [Test]
    public void Start_OnTheCpu_CompletesBeforeReturning()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var input = Inputs(784, seed: 6);
        var started = model.CreatePrediction();
        var task = model.Start(input, started);
        Assert.That(task.IsCompletedSuccessfully, Is.True);
        Assert.That((started.IsPending, started.IsReady, model.InFlight), Is.EqualTo((false, true, 0)));
        Assert.That(started.Outputs().ToArray(), Is.EqualTo(model.Predict(input).Outputs().ToArray()));
    }

    [Test]
    public async Task Start_CanBeAwaited()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var result = model.CreatePrediction();
        await model.StartPixels(Pixels(28, 28, seed: 7), 28, 28, result);
        Assert.That(result.IsReady, Is.True);
        Assert.That(result.Probabilities().ToArray().Sum(), Is.EqualTo(1).Within(1e-5));
    }

    [Test]
    public void LoadsFromPathStreamBytesAndOnnx_WithTheSameOutputs()
    {
        var input = Inputs(784, seed: 8);
        float[] Run(NeuroModel model)
        {
            using (model)
            {
                Assert.That(model.Labels, Is.EqualTo(FashionMnist.ClassNames), "labels travel with every form");
                Assert.That(model.Metadata.Normalization, Is.EqualTo(FashionNormalization));
                return model.Predict(input).Outputs().ToArray();
            }
        }
        var expected = Run(NeuroModel.Load(path, NeuroDevice.Cpu));
        byte[] bytes = File.ReadAllBytes(path);
        Assert.That(Run(NeuroModel.Load(bytes, NeuroDevice.Cpu)), Is.EqualTo(expected), "bytes");
        using (var stream = new MemoryStream([.. new byte[] { 9, 9, 9 }, .. bytes]))
        {
            stream.Position = 3; // a model inside a larger stream (a game's archive)
            Assert.That(Run(NeuroModel.Load(stream, NeuroDevice.Cpu)), Is.EqualTo(expected), "stream at an offset");
        }
        using (var pipe = new NonSeekable(bytes))
            Assert.That(Run(NeuroModel.Load(pipe, NeuroDevice.Cpu)), Is.EqualTo(expected), "stream that cannot seek");

        string onnx = Path.Combine(Folder.Path, "lenet5.onnx");
        using (var cpu = new CpuBackend())
        using (var network = ModelFile.Load(path, cpu, out var metadata))
            OnnxExporter.Export(network, onnx, metadata);
        TensorAssert.AreClose(expected, Run(NeuroModel.Load(onnx, NeuroDevice.Cpu)), 1e-5, "ONNX file");
        TensorAssert.AreClose(expected, Run(NeuroModel.Load(File.ReadAllBytes(onnx), NeuroDevice.Cpu)), 1e-5, "ONNX bytes");
    }

    [Test]
    public void FromNetwork_PredictsWhatTheNetworkHoldsNow()
    {
        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(path, cpu);
        using var model = NeuroModel.FromNetwork(network, LeNetMetadata(network.Graph));
        var input = Inputs(784, seed: 9);
        var before = model.Predict(input).Outputs().ToArray();
        network.Parameter("fc3.bias").Upload(Enumerable.Repeat(1f, 10).ToArray()); // what a trainer's step does
        var after = model.Predict(input).Outputs().ToArray();
        Assert.That(after, Is.EqualTo(Outputs(network, input, 1)));
        Assert.That(after, Is.Not.EqualTo(before));
        model.Dispose();
        Assert.That(network.Parameter("fc3.bias").ToArray(), Is.All.EqualTo(1f), "the caller's network outlives the model");
    }

    [Test]
    public void InputOfTheWrongShape_IsATypedErrorNamingBothShapes()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var result = model.CreatePrediction(capacity: 2);
        var error = Assert.Throws<InputShapeException>(() => model.Predict(new float[700], result));
        Assert.That(error!.Message, Is.EqualTo("model input (N,1,28,28) with 1 ≤ N ≤ 2, got (700) floats"));
        Assert.That((error.Expected, error.Actual), Is.EqualTo(("(N,1,28,28) with 1 ≤ N ≤ 2", "(700) floats")));
        Assert.Throws<InputShapeException>(() => model.Predict(new float[3 * 784], result), "more items than the result holds");
        Assert.Throws<InputShapeException>(() => model.Predict(ReadOnlySpan<float>.Empty, result));
        var pixels = Assert.Throws<InputShapeException>(() => model.PredictPixels(new byte[10 * 10 * 4 + 4], 10, 10, result));
        Assert.That(pixels!.Actual, Is.EqualTo("404 bytes, 1.01 images of 10×10 RGBA8 pixels"));
        Assert.That(result.Count, Is.Zero, "nothing ran");
    }

    /// <summary>Input values already on the model's device (an online learner's observation, a game's own kernels): the
    /// same bits as the same values given as floats, one item or a batch, synchronous or started; a tensor of another
    /// shape or on another backend is refused before anything runs.</summary>
    [Test]
    public void Tensors_PredictAsTheirValues_AndMisfitsAreTypedErrors()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var input = Inputs(2 * 784, seed: 11);
        using var pair = model.Backend.Allocate(new TensorShape(2, 1, 28, 28), "frames");
        pair.Upload(input);
        var fromTensor = model.CreatePrediction(capacity: 2);
        var fromFloats = model.CreatePrediction(capacity: 2);
        model.Predict(pair, fromTensor);
        model.Predict(input, fromFloats);
        Assert.That(fromTensor.Count, Is.EqualTo(2));
        for (int item = 0; item < 2; item++)
            Assert.That(fromTensor.Outputs(item).ToArray(), Is.EqualTo(fromFloats.Outputs(item).ToArray()), $"item {item}: the same bits");

        using var one = model.Backend.Allocate(new TensorShape(1, 1, 28, 28), "frame");
        one.Upload(input.AsSpan(784, 784));
        var started = model.CreatePrediction();
        var task = model.Start(one, started);
        Assert.That(task.IsCompletedSuccessfully, Is.True, "the CPU has the values at once");
        var oneFromFloats = model.CreatePrediction();
        model.Predict(input.AsSpan(784, 784), oneFromFloats); // a batch of one, as the tensor's (a batch's rows may round otherwise)
        Assert.That(started.Outputs().ToArray(), Is.EqualTo(oneFromFloats.Outputs().ToArray()));

        using var narrow = model.Backend.Allocate(new TensorShape(1, 1, 28, 27), "narrow");
        var error = Assert.Throws<InputShapeException>(() => model.Predict(narrow, fromTensor));
        Assert.That((error!.Expected, error.Actual), Is.EqualTo(("(N,1,28,28) with 1 ≤ N ≤ 2", "tensor 'narrow' (1,1,28,27)")));
        Assert.Throws<InputShapeException>(() => model.Predict(pair, started), "more items than the result holds");
        using var flat = model.Backend.Allocate(new TensorShape(1, 784), "flat");
        Assert.Throws<InputShapeException>(() => model.Predict(flat, started), "the item's shape, not only its length");
        using var elsewhere = new CpuBackend();
        using var foreign = elsewhere.Allocate(new TensorShape(1, 1, 28, 28), "foreign");
        Assert.That(Assert.Throws<ArgumentException>(() => model.Predict(foreign, started))!.Message, Does.Contain("'foreign'").And.Contain("the model's own backend"));
        Assert.That(started.Version, Is.EqualTo(1), "nothing ran");
    }

    [Test]
    public void ImagesForAModelWithoutImageInput_AreATypedError()
    {
        var graph = new NetworkGraph();
        graph.Add("fc", new Linear(12, 3), graph.AddInput("features", new TensorShape(12)));
        using var cpu = new CpuBackend();
        using var network = Network.Create(graph, cpu, seed: 1);
        using var model = NeuroModel.FromNetwork(network);
        Assert.That(model.Input.ToString(), Is.EqualTo("NC (12)"));
        Assert.That(model.Labels, Is.EqualTo(new[] { "class 0", "class 1", "class 2" }), "without labels");
        var error = Assert.Throws<InputShapeException>(() => model.PredictPixels(new byte[16], 2, 2));
        Assert.That(error!.Message, Is.EqualTo("model input NC (12) is not an image of 1 or 3 channels, got 2×2 RGBA pixels"));
        Assert.That(model.Predict(Inputs(12, seed: 1)).Count, Is.EqualTo(1), "floats still work");
    }

    [Test]
    public void ImagesForAModelThatDoesNotSayItsNormalization_SayHowToAddIt()
    {
        string plain = Path.Combine(Folder.Path, "plain.neuro");
        using (var cpu = new CpuBackend())
        using (var network = ModelFile.Load(path, cpu))
            ModelFile.Save(network, plain); // described by the graph alone
        using var model = NeuroModel.Load(plain, NeuroDevice.Cpu);
        Assert.That(model.Metadata.Normalization, Is.Null);
        var error = Assert.Throws<InvalidOperationException>(() => model.PredictPixels(Pixels(28, 28, 1), 28, 28));
        Assert.That(error!.Message, Does.Contain("neuro import").And.Contain("NeuroModelOptions.Preprocessing"));
        using var given = NeuroModel.Load(plain, NeuroDevice.Cpu, new NeuroModelOptions
        {
            Preprocessing = new ImageInputTransform(ChannelOrder.Grayscale, mean: [FashionMnist.PixelMean], std: [FashionMnist.PixelStd]),
        });
        using var described = NeuroModel.Load(path, NeuroDevice.Cpu);
        var pixels = Pixels(28, 28, seed: 2);
        Assert.That(given.PredictPixels(pixels, 28, 28).Outputs().ToArray(), Is.EqualTo(described.PredictPixels(pixels, 28, 28).Outputs().ToArray()));
        Assert.Throws<ArgumentException>(() => NeuroModel.Load(plain, NeuroDevice.Cpu, new NeuroModelOptions { Preprocessing = ImageInputTransform.ImageNet }),
            "three channels for a one-channel model");
    }

    [Test]
    public void Misuse_IsRefusedBeforeAnythingRuns()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        using var other = NeuroModel.Load(path, NeuroDevice.Cpu);
        Assert.Throws<ArgumentException>(() => model.Predict(Inputs(784, 1), other.CreatePrediction()), "another model's result");
        var error = Assert.Throws<InvalidOperationException>(() => model.PredictTexture(1));
        Assert.That(error!.Message, Does.StartWith("texture input needs a GL device"));
        Assert.Throws<InvalidOperationException>(() => model.CreatePrediction().Outputs(), "an empty result");
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreatePrediction(0));
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Predict(Inputs(784, 1)));
        model.Dispose(); // twice is fine
    }

    [Test]
    public void PredictingAllocatesNothingAfterWarmUp()
    {
        using var model = NeuroModel.Load(path, NeuroDevice.Cpu);
        var input = Inputs(2 * 784, seed: 10);
        var pixels = Pixels(64, 48, seed: 10);
        var one = model.CreatePrediction();
        var two = model.CreatePrediction(2);
        var top = new ClassScore[3];
        using var frame = model.Backend.Allocate(new TensorShape(1, 1, 28, 28), "frame");
        frame.Upload(input.AsSpan(0, 784));
        void Frame()
        {
            model.Predict(input.AsSpan(0, 784), one);
            model.Predict(frame, one);
            _ = model.Start(frame, one);
            model.Predict(input, two);
            model.PredictPixels(pixels, 64, 48, one);
            _ = model.Start(input.AsSpan(784), one);
            _ = one.IsReady;
            model.Poll();
            one.Top(top);
            _ = two.Best(1);
        }
        AllocationAssert.SteadyStateAllocatesNothing(_ => Frame(), 20, "managed bytes allocated by 20 frames of predictions");
    }

    /// <summary>A stream that cannot seek (a network or archive stream).</summary>
    sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
