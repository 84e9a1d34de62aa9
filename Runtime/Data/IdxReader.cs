using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuroPlugin.Data;

/// <summary>
/// Reads IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or raw (a file is read as
/// gzip when it starts with the gzip magic <c>1f 8b</c>).
/// <para>Layout (all integers big-endian): a 4-byte magic <c>00 00 TT RR</c> (TT the element type, RR the
/// rank), then RR sizes as uint32, then the elements in row-major order. Two kinds are read:
/// labels, magic <c>0x00000801</c> (unsigned bytes, rank 1: <c>(N)</c>), and images, magic
/// <c>0x00000803</c> (unsigned bytes, rank 3: <c>(N,H,W)</c>).</para>
/// <para>Everything is validated before the payload is allocated: magic, element type, rank, every size
/// &gt; 0, the element count within a hard cap, and (for raw files) the file length. The payload must be
/// exactly as long as the header declares: a short one and one followed by extra bytes are both errors.
/// A gzip stream is read through a buffer of exactly the declared size, so no file can make the reader
/// allocate more than its header promises. Every failure is a <see cref="DatasetException"/> naming the file.</para>
/// </summary>
public static class IdxReader
{
    /// <summary>Default cap on the element count of an image file: 100 million bytes (Fashion-MNIST train has 47 million).</summary>
    public const int DefaultMaxImageElements = 100_000_000;
    /// <summary>Default cap on the number of labels in a label file.</summary>
    public const int DefaultMaxLabels = 100_000_000;

    /// <summary>Magic number of an IDX file of unsigned-byte labels, rank 1.</summary>
    public const int LabelsMagic = UnsignedByteType << 8 | LabelsRank;
    /// <summary>Magic number of an IDX file of unsigned-byte images, rank 3.</summary>
    public const int ImagesMagic = UnsignedByteType << 8 | ImagesRank;

    /// <summary>The magic's element-type byte (TT) for unsigned bytes, the only type read.</summary>
    const byte UnsignedByteType = 0x08;
    /// <summary>The magic's rank byte (RR) of label and image files.</summary>
    const int LabelsRank = 1, ImagesRank = 3;
    /// <summary>The header: a 4-byte magic, then one big-endian uint32 size per axis.</summary>
    const int MagicBytes = 4, SizeBytes = 4;
    /// <summary>The first two bytes of every gzip stream (RFC 1952: ID1, ID2).</summary>
    const byte GzipId1 = 0x1f, GzipId2 = 0x8b;

    /// <summary>Reads a label file (magic <c>0x00000801</c>): one unsigned byte per item, shape <c>(N)</c>.</summary>
    /// <param name="path">The file, gzip-compressed or raw.</param>
    /// <param name="maxLabels">Hard cap on N, checked before allocating.</param>
    /// <exception cref="DatasetException">The file is missing, unreadable, malformed, or over the cap.</exception>
    public static byte[] ReadLabels(string path, int maxLabels = DefaultMaxLabels)
    {
        Span<int> sizes = stackalloc int[LabelsRank];
        return Read(path, LabelsRank, "labels", maxLabels, sizes);
    }

    /// <summary>Reads an image file (magic <c>0x00000803</c>): unsigned-byte pixels, shape <c>(N,H,W)</c>, row-major.</summary>
    /// <param name="path">The file, gzip-compressed or raw.</param>
    /// <param name="maxElements">Hard cap on <c>N·H·W</c>, checked before allocating.</param>
    /// <exception cref="DatasetException">The file is missing, unreadable, malformed, or over the cap.</exception>
    public static IdxImages ReadImages(string path, int maxElements = DefaultMaxImageElements)
    {
        Span<int> sizes = stackalloc int[ImagesRank];
        byte[] pixels = Read(path, ImagesRank, "images", maxElements, sizes);
        return new IdxImages(pixels, sizes[0], sizes[1], sizes[2]);
    }

    /// <summary>
    /// Opens the file, validates the header against the expected rank, fills <paramref name="sizes"/>
    /// and returns the payload. <paramref name="kind"/> ("labels" or "images") words the messages.
    /// </summary>
    static byte[] Read(string path, int rank, string kind, int maxElements, Span<int> sizes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (maxElements <= 0 || maxElements > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxElements), $"the element cap must be in 1..{Array.MaxLength}, got {maxElements}");

        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot open: {e.Message}", e);
        }

        using (file)
        {
            try
            {
                bool gzip = StartsWithGzipMagic(file);
                using Stream data = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
                return ReadIdx(path, data, gzip ? -1 : file.Length, rank, kind, maxElements, sizes);
            }
            catch (InvalidDataException e)
            {
                throw new DatasetException(path, $"corrupt gzip data: {e.Message}", e);
            }
            catch (IOException e)
            {
                throw new DatasetException(path, $"read error: {e.Message}", e);
            }
        }
    }

    /// <summary>Peeks at the first two bytes and rewinds.</summary>
    static bool StartsWithGzipMagic(FileStream file)
    {
        Span<byte> magic = stackalloc byte[2];
        int read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return read == 2 && magic[0] == GzipId1 && magic[1] == GzipId2;
    }

    /// <summary>
    /// Parses the header of <paramref name="data"/>, checks it against <paramref name="rank"/> and the cap,
    /// and reads the payload. <paramref name="rawLength"/> is the file length when the stream is the raw
    /// file (so a short or long payload is rejected before allocating), or −1 for a decompressing stream.
    /// </summary>
    static byte[] ReadIdx(string path, Stream data, long rawLength, int rank, string kind, int maxElements, Span<int> sizes)
    {
        int headerLength = MagicBytes + SizeBytes * rank;
        Span<byte> header = stackalloc byte[headerLength];
        int headerRead = data.ReadAtLeast(header, headerLength, throwOnEndOfStream: false);

        int expectedMagic = UnsignedByteType << 8 | rank;
        if (headerRead < MagicBytes)
            throw new DatasetException(path, $"truncated header: an IDX {kind} file starts with a {headerLength}-byte header, the data ends after {headerRead} bytes");
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (header[0] != 0 || header[1] != 0)
            throw new DatasetException(path, $"not an IDX file: magic 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX {kind})");
        if (header[2] != UnsignedByteType)
            throw new DatasetException(path, $"unsupported IDX element type 0x{header[2]:X2} (magic 0x{magic:X8}): only unsigned bytes (0x{UnsignedByteType:X2}) are read, expected magic 0x{expectedMagic:X8}");
        if (header[3] != rank)
            throw new DatasetException(path, $"wrong IDX rank {header[3]} (magic 0x{magic:X8}): {kind} have rank {rank}, expected magic 0x{expectedMagic:X8}{(header[3] == LabelsRank ? " (this looks like a label file)" : header[3] == ImagesRank ? " (this looks like an image file)" : "")}");
        if (headerRead < headerLength)
            throw new DatasetException(path, $"truncated header: magic 0x{magic:X8} needs {headerLength} header bytes ({rank} sizes), the data ends after {headerRead} bytes");

        // Sizes are uint32; the running product stays below 2^31 · 2^32 = 2^63, so long never overflows
        // before the cap check stops it.
        long elements = 1;
        for (int axis = 0; axis < rank; axis++)
        {
            uint size = ReadSize(header, axis);
            if (size == 0)
                throw new DatasetException(path, $"header declares size 0 on axis {axis} ({DescribeHeader(header, rank)})");
            elements *= size;
            if (elements > maxElements)
                throw new DatasetException(path, $"header declares {DescribeHeader(header, rank)}, more than the limit of {maxElements} elements; refusing to allocate");
            sizes[axis] = (int)size;
        }

        string declared = DescribeSizes(kind, sizes, elements);
        if (rawLength >= 0)
        {
            long payload = rawLength - headerLength;
            if (payload < elements)
                throw new DatasetException(path, $"truncated: header declares {declared} but the file ends after {payload} bytes of data");
            if (payload > elements)
                throw new DatasetException(path, $"trailing data: header declares {declared} but the file has {payload - elements} more bytes after them");
        }

        var values = new byte[elements];
        int read = data.ReadAtLeast(values, values.Length, throwOnEndOfStream: false);
        if (read < values.Length)
            throw new DatasetException(path, $"truncated: header declares {declared} but the {(rawLength < 0 ? "decompressed " : "")}data ends after {read} bytes");
        Span<byte> probe = stackalloc byte[1];
        if (data.Read(probe) != 0)
            throw new DatasetException(path, $"trailing data: header declares {declared} but the {(rawLength < 0 ? "decompressed " : "")}data continues after them");
        return values;
    }

    /// <summary>The size of <paramref name="axis"/>: the big-endian uint32 after the magic.</summary>
    static uint ReadSize(ReadOnlySpan<byte> header, int axis) => BinaryPrimitives.ReadUInt32BigEndian(header.Slice(MagicBytes + SizeBytes * axis, SizeBytes));

    /// <summary>"60000 images of 28×28 (47040000 bytes)" or "60000 labels (60000 bytes)".</summary>
    static string DescribeSizes(string kind, ReadOnlySpan<int> sizes, long elements) => sizes.Length == ImagesRank
        ? $"{sizes[0]} {kind} of {sizes[1]}×{sizes[2]} ({elements} bytes)"
        : $"{sizes[0]} {kind} ({elements} bytes)";

    /// <summary>The raw header sizes as "4294967295 × 28 × 28", for messages about sizes that were rejected.</summary>
    static string DescribeHeader(ReadOnlySpan<byte> header, int rank)
    {
        var parts = new string[rank];
        for (int axis = 0; axis < rank; axis++)
            parts[axis] = ReadSize(header, axis).ToString();
        return $"sizes {string.Join(" × ", parts)}";
    }
}

/// <summary>The content of an IDX image file: <see cref="Count"/> images of <see cref="Height"/>×<see cref="Width"/>
/// unsigned-byte pixels, <see cref="Pixels"/> laid out <c>(N,H,W)</c> row-major.</summary>
public sealed record IdxImages(byte[] Pixels, int Count, int Height, int Width);
