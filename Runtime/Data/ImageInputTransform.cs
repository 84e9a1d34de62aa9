using NeuroPlugin.Backends.Cpu;

namespace NeuroPlugin.Data;

/// <summary>How a source image of another size is resampled to the network's input size.</summary>
public enum ResizeMode
{
    /// <summary>Area averaging, PyTorch's <c>F.interpolate(mode='area')</c> (= <c>adaptive_avg_pool2d</c>): output
    /// pixel (i,j) is the mean of source rows <c>⌊i·H/OH⌋ ≤ y &lt; ⌈(i+1)·H/OH⌉</c> and columns
    /// <c>⌊j·W/OW⌋ ≤ x &lt; ⌈(j+1)·W/OW⌉</c>. The right choice when downscaling a game frame (every source texel
    /// counts, no aliasing); when upscaling it repeats texels (nearest neighbour). The default.</summary>
    Area,
    /// <summary>Bilinear, PyTorch's <c>F.interpolate(mode='bilinear', align_corners=False, antialias=False)</c>:
    /// <c>s = (H/OH)·(i + ½) − ½</c> clamped below at 0, <c>y₀ = ⌊s⌋</c>, <c>y₁ = min(y₀ + 1, H − 1)</c>,
    /// <c>λ = s − y₀</c>, the same along x, and
    /// <c>v = (1−λ)·((1−μ)·t[y₀,x₀] + μ·t[y₀,x₁]) + λ·((1−μ)·t[y₁,x₀] + μ·t[y₁,x₁])</c>. Smooth when upscaling;
    /// reads only 4 texels, so it aliases when shrinking by more than 2×.</summary>
    Bilinear,
}

/// <summary>Which network channels the source's red, green and blue become.</summary>
public enum ChannelOrder
{
    /// <summary>3 channels: R, G, B (torchvision's order).</summary>
    Rgb,
    /// <summary>3 channels: B, G, R (OpenCV/Caffe models).</summary>
    Bgr,
    /// <summary>1 channel: BT.601 luma <c>0.299·R + 0.587·G + 0.114·B</c> (torchvision's <c>rgb_to_grayscale</c>).</summary>
    Grayscale,
}

/// <summary>Which way a source image's rows run in memory.</summary>
public enum RowOrder
{
    /// <summary>Row 0 is the top of the picture (image files, most CPU pixel buffers).</summary>
    TopDown,
    /// <summary>Row 0 is the bottom of the picture: OpenGL's convention for textures it rendered
    /// (<c>glReadPixels</c> returns rows the same way). Read with a vertical flip.</summary>
    BottomUp,
}

/// <summary>
/// The math that turns an RGBA image (texels in [0,1]; 8-bit texels are <c>x/255</c>) into one sample of an
/// NCHW network input, shared by the GPU path (<see cref="Backends.OpenGL.TextureInput"/>, a compute shader reading a
/// GL texture) and the CPU path here (<see cref="CopyToTensor(ReadOnlySpan{byte}, int, int, RowOrder, Span{float}, int, int)"/>),
/// which is the reference the GPU path is tested against. For output sample (C,OH,OW), in this order:
/// <list type="number">
/// <item>Rows: the image is read top-down; a <see cref="RowOrder.BottomUp"/> source is flipped vertically
///   (image row y is memory row <c>H − 1 − y</c>).</item>
/// <item>Resize each of R, G, B from (H,W) to (OH,OW) by <see cref="Resize"/> (<see cref="ResizeMode"/> gives the
///   formulas, PyTorch's). Same size is an exact copy in both modes.</item>
/// <item>Channels by <see cref="Channels"/>: (R,G,B), (B,G,R), or luma <c>0.299·R + 0.587·G + 0.114·B</c>.</item>
/// <item>Normalize: <c>y[c,i,j] = (Scale·v[c,i,j] − Mean[c]) / Std[c]</c>. Scale = 1 keeps [0,1] (torchvision's
///   <c>ToTensor</c> then <c>Normalize(mean, std)</c>); Scale = 255 gives a [0,255] model its range. Float textures
///   are not clamped.</item>
/// </list>
/// Immutable; validated once at construction.
/// </summary>
public sealed class ImageInputTransform
{
    readonly float[] mean, std;

    /// <summary>A transform with the given channel order, resize mode, scale and per-channel statistics.
    /// <paramref name="mean"/> and <paramref name="std"/> hold one value per output channel (3, or 1 for
    /// grayscale), or a single value used for every channel; null means 0 and 1.</summary>
    /// <exception cref="ArgumentException">A statistic has the wrong count or is not finite, a std is not
    /// positive, or the scale is not finite and positive; the message names the field.</exception>
    public ImageInputTransform(ChannelOrder channels = ChannelOrder.Rgb, ResizeMode resize = ResizeMode.Area,
        float scale = 1f, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        if (!Enum.IsDefined(channels)) throw new ArgumentOutOfRangeException(nameof(channels), $"channels: unknown channel order {(int)channels}");
        if (!Enum.IsDefined(resize)) throw new ArgumentOutOfRangeException(nameof(resize), $"resize: unknown resize mode {(int)resize}");
        if (!float.IsFinite(scale) || scale <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be finite and > 0, got {scale}");
        Channels = channels;
        Resize = resize;
        Scale = scale;
        ChannelCount = channels == ChannelOrder.Grayscale ? 1 : 3;
        this.mean = Expand(mean, 0f, nameof(mean));
        this.std = Expand(std, 1f, nameof(std));
        for (int c = 0; c < ChannelCount; c++)
        {
            if (!float.IsFinite(this.mean[c])) throw new ArgumentException($"mean[{c}] must be finite, got {this.mean[c]}", nameof(mean));
            if (!float.IsFinite(this.std[c]) || this.std[c] <= 0) throw new ArgumentException($"std[{c}] must be finite and > 0, got {this.std[c]}", nameof(std));
        }
    }

    /// <summary>ImageNet statistics (torchvision's classification models): RGB, mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225), scale 1, area resize.</summary>
    public static ImageInputTransform ImageNet { get; } = new(ChannelOrder.Rgb, ResizeMode.Area, 1f,
        [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Channel order (and so the channel count).</summary>
    public ChannelOrder Channels { get; }
    /// <summary>Resampling from the source size to the tensor's (H,W).</summary>
    public ResizeMode Resize { get; }
    /// <summary>Multiplies the [0,1] value before the mean is subtracted.</summary>
    public float Scale { get; }
    /// <summary>Output channels: 3, or 1 for <see cref="ChannelOrder.Grayscale"/>.</summary>
    public int ChannelCount { get; }
    /// <summary>Per-channel mean, subtracted after scaling (<see cref="ChannelCount"/> values).</summary>
    public IReadOnlyList<float> Mean => mean;
    /// <summary>Per-channel standard deviation, divided by last (<see cref="ChannelCount"/> values, each &gt; 0).</summary>
    public IReadOnlyList<float> Std => std;

    float[] Expand(IReadOnlyList<float>? values, float fallback, string field)
    {
        var result = new float[ChannelCount];
        if (values is null) { result.AsSpan().Fill(fallback); return result; }
        if (values.Count == 1) { result.AsSpan().Fill(values[0]); return result; }
        if (values.Count != ChannelCount)
            throw new ArgumentException($"{field} needs {ChannelCount} values for {Channels} (or 1 for every channel), got {values.Count}", field);
        for (int c = 0; c < ChannelCount; c++) result[c] = values[c];
        return result;
    }

    /// <summary>
    /// Checks that <paramref name="destination"/> can take a sample at <paramref name="batchIndex"/>: rank 4
    /// (N,C,H,W) with C = <see cref="ChannelCount"/> and 0 ≤ batchIndex &lt; N. Shared by the CPU and GL paths.
    /// </summary>
    /// <exception cref="ShapeException">The tensor is not (N,<see cref="ChannelCount"/>,H,W); names the tensor and its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The batch index is outside [0, N).</exception>
    public void CheckDestination(Tensor destination, int batchIndex)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var shape = destination.Shape;
        if (shape.Rank != 4 || shape[1] != ChannelCount)
            throw new ShapeException($"destination '{destination.Name}' {shape} must be (N,{ChannelCount},H,W) for {Channels} input");
        if ((uint)batchIndex >= (uint)shape[0])
            throw new ArgumentOutOfRangeException(nameof(batchIndex), $"batchIndex {batchIndex} is outside destination '{destination.Name}' {shape} (batch {shape[0]})");
    }

    /// <summary>
    /// The CPU path for 8-bit RGBA pixels (4 bytes per pixel, R first, rows of <paramref name="width"/> pixels with no
    /// padding, <paramref name="rows"/> saying which way they run): writes one sample (C,OH,OW) into
    /// <paramref name="sample"/> (exactly <c>C·OH·OW</c> floats). Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The pixel span is not <c>width·height·4</c> bytes, a size is not positive,
    /// or the sample span has the wrong length; the message names the field.</exception>
    public void CopyToTensor(ReadOnlySpan<byte> pixels, int width, int height, RowOrder rows, Span<float> sample, int outputHeight, int outputWidth)
    {
        CheckSource(pixels.Length, width, height, nameof(pixels), "bytes (RGBA8)");
        CheckSample(sample.Length, outputHeight, outputWidth);
        unsafe
        {
            fixed (byte* texels = pixels) Run(new Rgba8Source(texels, width, height, rows), sample, outputHeight, outputWidth);
        }
    }

    /// <summary>The CPU path for float RGBA texels (4 floats per pixel, as an RGBA16F/RGBA32F texture holds them);
    /// otherwise as the 8-bit overload.</summary>
    public void CopyToTensor(ReadOnlySpan<float> texels, int width, int height, RowOrder rows, Span<float> sample, int outputHeight, int outputWidth)
    {
        CheckSource(texels.Length, width, height, nameof(texels), "floats (RGBA)");
        CheckSample(sample.Length, outputHeight, outputWidth);
        unsafe
        {
            fixed (float* values = texels) Run(new RgbaFloatSource(values, width, height, rows), sample, outputHeight, outputWidth);
        }
    }

    /// <summary>The CPU path into sample <paramref name="batchIndex"/> of a CPU-backend tensor (N,C,H,W): 8-bit RGBA
    /// pixels as in the span overload. (On the GL backend use <see cref="Backends.OpenGL.TextureInput"/>.)</summary>
    /// <exception cref="ArgumentException">The tensor does not live on the CPU backend.</exception>
    public void CopyToTensor(ReadOnlySpan<byte> pixels, int width, int height, RowOrder rows, Tensor destination, int batchIndex)
    {
        CheckDestination(destination, batchIndex);
        var shape = destination.Shape;
        int sampleLength = shape.ItemLength;
        CopyToTensor(pixels, width, height, rows, CpuBackend.Data(destination).Slice(batchIndex * sampleLength, sampleLength), shape.H, shape.W);
    }

    static void CheckSource(int length, int width, int height, string field, string unit)
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"width must be > 0, got {width}");
        if (height <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"height must be > 0, got {height}");
        long expected = (long)width * height * 4;
        if (length != expected)
            throw new ArgumentException($"{field}: a {width}×{height} RGBA image needs {expected} {unit}, got {length}", field);
    }

    void CheckSample(int length, int outputHeight, int outputWidth)
    {
        if (outputHeight <= 0) throw new ArgumentOutOfRangeException(nameof(outputHeight), $"outputHeight must be > 0, got {outputHeight}");
        if (outputWidth <= 0) throw new ArgumentOutOfRangeException(nameof(outputWidth), $"outputWidth must be > 0, got {outputWidth}");
        long expected = (long)ChannelCount * outputHeight * outputWidth;
        if (length != expected)
            throw new ArgumentException($"sample: ({ChannelCount},{outputHeight},{outputWidth}) needs {expected} floats, got {length}", "sample");
    }

    /// <summary>A texel source: R, G, B in [0,1] at image coordinates (x, y top-down).</summary>
    interface ITexels
    {
        int Width { get; }
        int Height { get; }
        (float R, float G, float B) this[int x, int y] { get; }
    }

    /// <summary>Where texel (x, y) (y counted from the top of the picture) starts in an RGBA array of rows running <paramref name="rows"/>.</summary>
    static int TexelOffset(int x, int y, int width, int height, RowOrder rows) =>
        ((rows == RowOrder.BottomUp ? height - 1 - y : y) * width + x) * 4;

    // The sources hold the pinned pixels by pointer rather than as spans: a span field would make them ref structs, and a
    // ref struct as a generic argument (`allows ref struct`) needs .NET 9. Run is specialized per source type either way.
    readonly unsafe struct Rgba8Source(byte* pixels, int width, int height, RowOrder rows) : ITexels
    {
        public int Width => width;
        public int Height => height;
        public (float R, float G, float B) this[int x, int y]
        {
            get { int at = TexelOffset(x, y, width, height, rows); return (pixels[at] / 255f, pixels[at + 1] / 255f, pixels[at + 2] / 255f); }
        }
    }

    readonly unsafe struct RgbaFloatSource(float* texels, int width, int height, RowOrder rows) : ITexels
    {
        public int Width => width;
        public int Height => height;
        public (float R, float G, float B) this[int x, int y]
        {
            get { int at = TexelOffset(x, y, width, height, rows); return (texels[at], texels[at + 1], texels[at + 2]); }
        }
    }

    // The reference loop; Shaders/texture_input.comp is the same arithmetic in the same order.
    void Run<TTexels>(TTexels source, Span<float> sample, int outputHeight, int outputWidth) where TTexels : struct, ITexels
    {
        int height = source.Height, width = source.Width, plane = outputHeight * outputWidth;
        float scaleY = (float)height / outputHeight, scaleX = (float)width / outputWidth;
        for (int i = 0; i < outputHeight; i++)
            for (int j = 0; j < outputWidth; j++)
            {
                float r = 0, g = 0, b = 0;
                if (Resize == ResizeMode.Bilinear)
                {
                    var (y0, y1, wy) = BilinearTap(i, scaleY, height);
                    var (x0, x1, wx) = BilinearTap(j, scaleX, width);
                    var t00 = source[x0, y0]; var t01 = source[x1, y0];
                    var t10 = source[x0, y1]; var t11 = source[x1, y1];
                    float uy = 1 - wy, ux = 1 - wx;
                    r = uy * (ux * t00.R + wx * t01.R) + wy * (ux * t10.R + wx * t11.R);
                    g = uy * (ux * t00.G + wx * t01.G) + wy * (ux * t10.G + wx * t11.G);
                    b = uy * (ux * t00.B + wx * t01.B) + wy * (ux * t10.B + wx * t11.B);
                }
                else
                {
                    int top = i * height / outputHeight, bottom = ((i + 1) * height + outputHeight - 1) / outputHeight;
                    int left = j * width / outputWidth, right = ((j + 1) * width + outputWidth - 1) / outputWidth;
                    for (int y = top; y < bottom; y++)
                        for (int x = left; x < right; x++)
                        {
                            var t = source[x, y];
                            r += t.R; g += t.G; b += t.B;
                        }
                    float count = (bottom - top) * (right - left);
                    r /= count; g /= count; b /= count;
                }
                int at = i * outputWidth + j;
                switch (Channels)
                {
                    case ChannelOrder.Rgb:
                        sample[at] = Normalize(r, 0); sample[plane + at] = Normalize(g, 1); sample[2 * plane + at] = Normalize(b, 2);
                        break;
                    case ChannelOrder.Bgr:
                        sample[at] = Normalize(b, 0); sample[plane + at] = Normalize(g, 1); sample[2 * plane + at] = Normalize(r, 2);
                        break;
                    default:
                        sample[at] = Normalize(0.299f * r + 0.587f * g + 0.114f * b, 0);
                        break;
                }
            }
    }

    float Normalize(float value, int channel) => (Scale * value - mean[channel]) / std[channel];

    /// <summary>PyTorch's bilinear source index (align_corners=False): <c>s = scale·(i + ½) − ½</c>, negative
    /// clamped to 0; the two taps and the weight of the second.</summary>
    static (int First, int Second, float Weight) BilinearTap(int index, float scale, int size)
    {
        float s = MathF.Max(scale * (index + 0.5f) - 0.5f, 0f);
        int first = (int)s;
        int second = first < size - 1 ? first + 1 : first;
        return (first, second, s - first);
    }
}
