using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuroPlugin.Data;

/// <summary>
/// PNG and JPEG decoding with SixLabors.ImageSharp 2.1.13, for image folders (<see cref="ImageFolder"/>) and for images
/// handed to a model (<see cref="NeuroModel.PredictImage(ReadOnlySpan{byte}, Prediction)"/>). ImageSharp is configured
/// with those two codecs only, and every limit is checked before the memory it guards is spent: the declared width,
/// height and pixel count from the header (<c>Image.Identify</c>) before decoding, and a JPEG's end marker (ImageSharp
/// would fill a truncated scan with grey). Every failure is a <see cref="DatasetException"/> naming the source.
/// The only place the Runtime touches ImageSharp besides <see cref="ImageFolder"/>: a game that never decodes an image
/// never loads the assembly.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>ImageSharp with only the PNG and JPEG codecs: any other format is unknown to it.</summary>
    static readonly Configuration Codecs = new(new PngConfigurationModule(), new JpegConfigurationModule());

    /// <summary>Identifies <paramref name="bytes"/> (PNG or JPEG, within the limits) and decodes it to
    /// <typeparamref name="TPixel"/> pixels.</summary>
    /// <exception cref="DatasetException">Not a PNG or JPEG, a declared size over a limit, a truncated JPEG, or an image the
    /// decoder refuses; names <paramref name="source"/> and the limit.</exception>
    public static Image<TPixel> Load<TPixel>(byte[] bytes, string source, int maxSide, long maxPixels) where TPixel : unmanaged, IPixel<TPixel>
    {
        try
        {
            IImageInfo? info = Image.Identify(Codecs, bytes, out IImageFormat? format);
            if (info is null || format is null)
                throw new DatasetException(source, "not a PNG or JPEG image (unknown or unsupported format; only PNG and JPEG are read)");
            if (info.Width < 1 || info.Height < 1)
                throw new DatasetException(source, $"declares {info.Width}×{info.Height} pixels: an image needs at least one");
            if (info.Width > maxSide || info.Height > maxSide)
                throw new DatasetException(source, $"declares {info.Width}×{info.Height} pixels, over the limit of {maxSide} per side (MaxSide)");
            if ((long)info.Width * info.Height > maxPixels)
                throw new DatasetException(source, $"declares {info.Width}×{info.Height} = {(long)info.Width * info.Height} pixels, over the limit of {maxPixels} (MaxPixels)");
            if (format is JpegFormat && !EndsWithJpegEndMarker(bytes))
                throw new DatasetException(source, "truncated JPEG: the end-of-image marker (FF D9) is missing");
            if (format is PngFormat && PngImageData.Problem(bytes) is { } problem)
                throw new DatasetException(source, problem);
            return Image.Load<TPixel>(Codecs, bytes);
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw Failure(source, e);
        }
    }

    /// <summary>An image as 8-bit RGBA pixels, top row first (what <see cref="ImageInputTransform"/> reads), within the
    /// limits of <see cref="ImageFolderOptions"/>' defaults.</summary>
    public static (byte[] Pixels, int Width, int Height) DecodeRgba(byte[] bytes, string source)
    {
        var limits = new ImageFolderOptions();
        if (bytes.Length > limits.MaxFileBytes)
            throw new DatasetException(source, $"{bytes.Length} bytes, over the limit of {limits.MaxFileBytes} bytes (MaxFileBytes)");
        using var image = Load<Rgba32>(bytes, source, limits.MaxSide, limits.MaxPixels);
        var pixels = new byte[checked(image.Width * image.Height * 4)];
        image.CopyPixelDataTo(pixels);
        return (pixels, image.Width, image.Height);
    }

    /// <summary>The rest of <paramref name="stream"/>, an encoded image of at most <see cref="ImageFolderOptions.MaxFileBytes"/>' default.</summary>
    public static byte[] ReadEncoded(Stream stream, string source)
    {
        long limit = new ImageFolderOptions().MaxFileBytes;
        return Serialization.BoundedRead.ToMemory(stream, limit)?.ToArray()
            ?? throw new DatasetException(source, $"more than {limit} bytes, over the limit of an image (MaxFileBytes)");
    }

    /// <summary>Whether <paramref name="e"/>, thrown while identifying, decoding or resizing an image, means the image
    /// cannot be read. ImageSharp 2.1.13 reports most bad files as ImageFormatException (unknown format, invalid content),
    /// features it does not decode (12-bit or lossless JPEG) as NotSupportedException and buffers it cannot allocate as
    /// InvalidMemoryOperationException; but fuzzing found hostile files on which it throws NullReferenceException,
    /// ArgumentOutOfRangeException, IndexOutOfRangeException… (Tests/Fuzz/Regressions/image). The bytes are untrusted input
    /// to a third-party decoder, so whatever it throws (other than our own checks' errors) means this image cannot be read.</summary>
    public static bool IsDecodeFailure(Exception e) => e is not DatasetException;

    /// <summary>The error for an image the decoder failed on (<see cref="IsDecodeFailure"/>), naming the source.</summary>
    public static DatasetException Failure(string source, Exception e) =>
        new(source, $"not a PNG or JPEG image this reader can decode: {e.GetType().Name}: {e.Message}", e);

    /// <summary>A complete JPEG ends with EOI (FF D9), possibly followed by padding zeros.</summary>
    static bool EndsWithJpegEndMarker(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.Length;
        while (end > 0 && bytes[end - 1] == 0) end--;
        return end >= 2 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9;
    }
}
