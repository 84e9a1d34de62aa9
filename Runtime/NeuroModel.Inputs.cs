using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;

namespace NeuroPlugin;

/// <summary>The inputs a model takes, each synchronous (<c>Predict…</c>) and non-blocking (<c>Start…</c>).</summary>
public sealed partial class NeuroModel
{
    // ---- floats: the network's input values as they are, N items of InputLength back to back ----

    /// <summary>Predicts N items from <paramref name="input"/>, the network's input values (already normalized), N·C·H·W
    /// floats in (N,C,H,W) order, into <paramref name="result"/>; N = input.Length / <see cref="InputLength"/>.</summary>
    /// <exception cref="InputShapeException">The length is not a whole number of items, or N exceeds the result's capacity.</exception>
    public void Predict(ReadOnlySpan<float> input, Prediction result)
    {
        EnsureUsable();
        Finish(FillFloats(input, result), result);
    }

    /// <summary>Predicts one item into the model's own result, which the next call of this kind overwrites.</summary>
    public Prediction Predict(ReadOnlySpan<float> input)
    {
        var result = OwnResult();
        Predict(input, result);
        return result;
    }

    /// <summary>Starts predicting N items from <paramref name="input"/> (as <see cref="Predict(ReadOnlySpan{float}, Prediction)"/>)
    /// and returns at once: the input is uploaded and the work queued; the task completes, and <paramref name="result"/>
    /// becomes ready, once the GPU has delivered the outputs and a <see cref="Poll"/> (or <see cref="Prediction.IsReady"/>)
    /// finds them. On the CPU backend it completes before returning.</summary>
    public ValueTask Start(ReadOnlySpan<float> input, Prediction result)
    {
        EnsureUsable();
        return Launch(FillFloats(input, result), result);
    }

    Lane FillFloats(ReadOnlySpan<float> input, Prediction result)
    {
        CheckResult(result);
        int count = input.Length % InputLength == 0 ? input.Length / InputLength : 0;
        if (count < 1 || count > result.Capacity) throw InputMismatch(result.Capacity, $"({input.Length}) floats");
        var lane = LaneFor(count);
        lane.Plan.Input.Upload(input);
        return lane;
    }

    // ---- tensors: input values already on the model's device (an OnlineLearner's Observation, a game's own kernels) ----

    /// <summary>Predicts the N items of <paramref name="input"/>, an (N, item shape) tensor on the model's own backend that
    /// holds the network's input values (already normalized), into <paramref name="result"/>: a copy on the device into
    /// the plan's input, nothing crosses the bus on the way in.</summary>
    /// <exception cref="InputShapeException">The tensor is not (N, item shape) with 1 ≤ N ≤ the result's capacity.</exception>
    /// <exception cref="ArgumentException">The tensor lives on another backend.</exception>
    public void Predict(Tensor input, Prediction result)
    {
        EnsureUsable();
        Finish(FillTensor(input, result), result);
    }

    /// <summary>The non-blocking <see cref="Predict(Tensor, Prediction)"/> (see <see cref="Start(ReadOnlySpan{float}, Prediction)"/>):
    /// the copy, the network and the copy of its outputs are queued; the tensor may be overwritten as soon as this returns.</summary>
    public ValueTask Start(Tensor input, Prediction result)
    {
        EnsureUsable();
        return Launch(FillTensor(input, result), result);
    }

    Lane FillTensor(Tensor input, Prediction result)
    {
        CheckResult(result);
        ArgumentNullException.ThrowIfNull(input);
        if (!ReferenceEquals(input.Backend, Backend))
            throw new ArgumentException($"tensor '{input.Name}' is on {input.Backend.Name} ({input.Backend.DeviceName}), this model on {DeviceName}: an input tensor must be on the model's own backend", nameof(input));
        var shape = input.Shape;
        var item = Input.ItemShape;
        bool fits = shape.Rank == item.Rank + 1 && shape[0] >= 1 && shape[0] <= result.Capacity;
        for (int axis = 0; fits && axis < item.Rank; axis++) fits = shape[axis + 1] == item[axis];
        if (!fits) throw InputMismatch(result.Capacity, $"tensor '{input.Name}' {shape}");
        var lane = LaneFor(shape[0]);
        Backend.Copy(input, lane.Plan.Input);
        return lane;
    }

    // ---- pixels: 8-bit RGBA, any size, through the model's preprocessing on the CPU ----

    /// <summary>Predicts N images of <paramref name="width"/>×<paramref name="height"/> RGBA8 pixels (4 bytes per pixel,
    /// R first, rows of <paramref name="width"/> pixels without padding, N images back to back), each resized and
    /// normalized by the model's preprocessing (<see cref="ImagePreprocessing"/>, <see cref="ImageInputTransform"/>'s CPU
    /// path), into <paramref name="result"/>.</summary>
    /// <exception cref="InputShapeException">The model does not take images, or the bytes are not a whole number of images
    /// (or more than the result holds).</exception>
    /// <exception cref="InvalidOperationException">The model file does not say how to normalize its inputs.</exception>
    public void PredictPixels(ReadOnlySpan<byte> rgba, int width, int height, Prediction result, RowOrder rows = RowOrder.TopDown)
    {
        EnsureUsable();
        Finish(FillPixels(rgba, width, height, rows, result), result);
    }

    /// <summary>Predicts one image of RGBA8 pixels into the model's own result (overwritten by the next call of this kind).</summary>
    public Prediction PredictPixels(ReadOnlySpan<byte> rgba, int width, int height, RowOrder rows = RowOrder.TopDown)
    {
        var result = OwnResult();
        PredictPixels(rgba, width, height, result, rows);
        return result;
    }

    /// <summary>The non-blocking <see cref="PredictPixels(ReadOnlySpan{byte}, int, int, Prediction, RowOrder)"/> (see
    /// <see cref="Start(ReadOnlySpan{float}, Prediction)"/>).</summary>
    public ValueTask StartPixels(ReadOnlySpan<byte> rgba, int width, int height, Prediction result, RowOrder rows = RowOrder.TopDown)
    {
        EnsureUsable();
        return Launch(FillPixels(rgba, width, height, rows, result), result);
    }

    Lane FillPixels(ReadOnlySpan<byte> rgba, int width, int height, RowOrder rows, Prediction result)
    {
        CheckResult(result);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var transform = preprocessing ?? throw CannotTakeImages($"{width}×{height} RGBA pixels");
        long frame = 4L * width * height;
        int count = rgba.Length % frame == 0 ? (int)(rgba.Length / frame) : 0;
        if (count < 1 || count > result.Capacity)
            throw InputMismatch(result.Capacity, $"{rgba.Length} bytes, {(double)rgba.Length / frame:0.##} images of {width}×{height} RGBA8 pixels");
        var lane = LaneFor(count);
        var shape = Input.ItemShape;
        var staging = lane.Staging;
        for (int b = 0; b < count; b++)
            transform.CopyToTensor(rgba.Slice((int)(b * frame), (int)frame), width, height, rows, staging.AsSpan(b * InputLength, InputLength), shape[1], shape[2]);
        lane.Plan.Input.Upload(staging);
        return lane;
    }

    // ---- images: PNG or JPEG, decoded (this is where SixLabors.ImageSharp is loaded) ----

    /// <summary>Decodes a PNG or JPEG image (see <see cref="ImageFolderOptions"/> for the limits) and predicts it as
    /// <see cref="PredictPixels(ReadOnlySpan{byte}, int, int, Prediction, RowOrder)"/>. Decoding allocates.</summary>
    /// <exception cref="DatasetException">Not a PNG or JPEG this reader decodes, or over a limit.</exception>
    public void PredictImage(ReadOnlySpan<byte> encoded, Prediction result) => PredictDecoded(encoded.ToArray(), "image", result);

    /// <summary>Decodes the PNG or JPEG image in the rest of <paramref name="image"/> and predicts it.</summary>
    public void PredictImage(Stream image, Prediction result)
    {
        ArgumentNullException.ThrowIfNull(image);
        PredictDecoded(ImageDecoder.ReadEncoded(image, "image stream"), "image stream", result);
    }

    /// <summary>Decodes the PNG or JPEG file at <paramref name="path"/> and predicts it into the model's own result.</summary>
    public Prediction PredictImage(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        var result = OwnResult();
        PredictDecoded(ImageDecoder.ReadEncoded(file, path), path, result);
        return result;
    }

    void PredictDecoded(byte[] encoded, string source, Prediction result)
    {
        EnsureUsable();
        if (preprocessing is null) throw CannotTakeImages($"image '{source}'");
        var (pixels, width, height) = ImageDecoder.DecodeRgba(encoded, source);
        PredictPixels(pixels, width, height, result);
    }

    // ---- textures: the game's GL textures, read by a compute shader (no readback) ----

    /// <summary>Predicts one GL texture (<c>GL_TEXTURE_2D</c>, level 0 RGBA8, RGBA16F or RGBA32F; <paramref name="rows"/>:
    /// bottom-up for what GL rendered) through the model's preprocessing on the GPU (<see cref="TextureInput"/>) into
    /// <paramref name="result"/>. GL devices only.</summary>
    /// <exception cref="InputShapeException">The model does not take images.</exception>
    /// <exception cref="ArgumentException">The texture is not one <see cref="TextureInput"/> reads (names it and the field).</exception>
    public void PredictTexture(uint texture, Prediction result, RowOrder rows = RowOrder.BottomUp) =>
        PredictTextures(new ReadOnlySpan<uint>(in texture), result, rows);

    /// <summary>Predicts one GL texture into the model's own result (overwritten by the next call of this kind).</summary>
    public Prediction PredictTexture(uint texture, RowOrder rows = RowOrder.BottomUp)
    {
        var result = OwnResult();
        PredictTexture(texture, result, rows);
        return result;
    }

    /// <summary>Predicts N GL textures as one batch into <paramref name="result"/>.</summary>
    public void PredictTextures(ReadOnlySpan<uint> textures, Prediction result, RowOrder rows = RowOrder.BottomUp)
    {
        EnsureUsable();
        Finish(FillTextures(textures, rows, result), result);
    }

    /// <summary>The non-blocking <see cref="PredictTexture(uint, Prediction, RowOrder)"/>: texture to tensor, the network
    /// and the copy of its outputs are queued on the GPU, nothing waits (see <see cref="Start(ReadOnlySpan{float}, Prediction)"/>).</summary>
    public ValueTask StartTexture(uint texture, Prediction result, RowOrder rows = RowOrder.BottomUp) =>
        StartTextures(new ReadOnlySpan<uint>(in texture), result, rows);

    /// <summary>The non-blocking <see cref="PredictTextures"/>.</summary>
    public ValueTask StartTextures(ReadOnlySpan<uint> textures, Prediction result, RowOrder rows = RowOrder.BottomUp)
    {
        EnsureUsable();
        return Launch(FillTextures(textures, rows, result), result);
    }

    Lane FillTextures(ReadOnlySpan<uint> textures, RowOrder rows, Prediction result)
    {
        CheckResult(result);
        if (Backend is not GLBackend gl)
            throw new InvalidOperationException($"texture input needs a GL device; this model runs on {DeviceName}: load it with NeuroDevice.CurrentContext(gl)");
        var transform = preprocessing ?? throw CannotTakeImages(textures.Length > 0 ? $"texture {textures[0]}" : "no texture");
        if (textures.Length < 1 || textures.Length > result.Capacity) throw InputMismatch(result.Capacity, $"{textures.Length} textures");
        var lane = LaneFor(textures.Length);
        this.textures ??= new TextureInput(gl, transform);
        for (int b = 0; b < textures.Length; b++) this.textures.CopyToTensor(textures[b], lane.Plan.Input, b, rows);
        return lane;
    }

    /// <summary>The typed error that says why this model (without an image transform) cannot take <paramref name="what"/>.</summary>
    internal Exception CannotTakeImages(string what)
    {
        if (!Input.IsImage)
        {
            string expected = $"an image (C,H,W) of 1 (luma) or 3 (RGB) channels; this model takes {Input}";
            return new InputShapeException($"model input {Input} is not an image of 1 or 3 channels, got {what}", expected, what);
        }
        return new InvalidOperationException(preprocessingProblem);
    }

    /// <summary>The model's own one-item result, for the calls that return one.</summary>
    Prediction OwnResult()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return ownResult ??= CreatePrediction();
    }

    /// <summary>Checks that <paramref name="result"/> belongs to this model and is not waiting for a started prediction.</summary>
    void CheckResult(Prediction result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!ReferenceEquals(result.Model, this)) throw new ArgumentException("this Prediction was made by another model: use model.CreatePrediction()", nameof(result));
        if (result.IsPending) throw new InvalidOperationException("this prediction is already waiting for a result: use another Prediction for a second prediction in flight");
    }
}
