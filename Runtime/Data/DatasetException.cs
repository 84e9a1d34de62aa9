namespace NeuroPlugin.Data;

/// <summary>
/// A dataset file that is missing, malformed, hostile or inconsistent with its partner file.
/// The message always starts with the file's path, then says what is wrong, e.g.
/// <c>/x/train-images-idx3-ubyte.gz: truncated: header declares 60000 images of 28×28 (47040000 bytes) but the data ends after 1000 bytes</c>.
/// </summary>
public class DatasetException : Exception
{
    /// <summary>A problem with one file: the message reads <c>"{path}: {problem}"</c>.</summary>
    public DatasetException(string path, string problem, Exception? innerException = null)
        : base($"{path}: {problem}", innerException)
    {
        FilePath = path;
    }

    /// <summary>The file the problem was found in (for a problem between two files, the first one named).</summary>
    public string FilePath { get; }
}
