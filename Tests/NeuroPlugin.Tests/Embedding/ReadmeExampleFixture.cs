using System.Runtime.CompilerServices;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// A README example compiled and run on the GL test context: the derived fixture's file holds the README's block between
/// the markers <c>// {marker}: begin</c> and <c>// {marker}: end</c>, which <see cref="TheReadmeBlock_IsTheCodeThisTestRuns"/>
/// checks character for character against the block under <paramref name="heading"/>; the fixture's own test runs it.
/// </summary>
public abstract class ReadmeExampleFixture(string heading, string marker, [CallerFilePath] string sourceFile = "") : GLFixture
{
    [Test]
    public void TheReadmeBlock_IsTheCodeThisTestRuns() =>
        AssertReadmeBlockIs(heading, $"        // {marker}: begin", $"        // {marker}: end", sourceFile);

    /// <summary>A temporary folder holding the examples' <c>model.neuro</c>: LeNet-5 with <paramref name="seed"/>'s weights.</summary>
    protected static TempFolder ModelFolder(int seed)
    {
        var files = Folder();
        File.Copy(SaveLeNet(files.Path, seed), Path.Combine(files.Path, "model.neuro"));
        return files;
    }

    /// <summary>Makes <paramref name="folder"/> the current directory (the examples load and save files by name) until the
    /// returned handle is disposed, which restores the previous one.</summary>
    protected static IDisposable CurrentDirectory(string folder) => new DirectoryScope(folder);

    sealed class DirectoryScope : IDisposable
    {
        readonly string previous = Environment.CurrentDirectory;

        public DirectoryScope(string folder) => Environment.CurrentDirectory = folder;

        public void Dispose() => Environment.CurrentDirectory = previous;
    }

    /// <summary>A Fashion-MNIST greyscale image (28×28, top row first) as the RGBA texture a game renders: bottom row first,
    /// opaque.</summary>
    protected static byte[] BottomUpRgba(ReadOnlySpan<byte> grey)
    {
        var rgba = new byte[28 * 28 * 4];
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                byte v = grey[y * 28 + x];
                int p = ((27 - y) * 28 + x) * 4;
                (rgba[p], rgba[p + 1], rgba[p + 2], rgba[p + 3]) = (v, v, v, 255);
            }
        return rgba;
    }
}
