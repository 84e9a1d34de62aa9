namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The folder <c>neuro serve</c> works in (<c>--folder</c>). Every path a client names is relative to it, and
/// <see cref="Resolve"/> refuses any path that is absolute, climbs out with <c>..</c>, or reaches outside through a
/// symbolic link anywhere along the way (the link's target is followed before the check).
/// </summary>
internal sealed class FolderGuard
{
    public FolderGuard(string root)
    {
        var info = new DirectoryInfo(Path.GetFullPath(root));
        if (!info.Exists) throw new DirectoryNotFoundException($"--folder: {root} is not a folder");
        Root = RealPath(info.FullName);
    }

    /// <summary>The folder, absolute and with symbolic links resolved.</summary>
    public string Root { get; }

    /// <summary>
    /// The absolute path of <paramref name="relative"/> inside <see cref="Root"/> (links resolved; the file need not exist).
    /// Throws <see cref="PathOutsideFolderException"/> naming the path when it is empty, absolute or leads outside.
    /// </summary>
    public string Resolve(string? relative)
    {
        if (string.IsNullOrWhiteSpace(relative)) throw new PathOutsideFolderException("a file path is required");
        if (relative.Contains('\0')) throw new PathOutsideFolderException($"'{relative}': invalid character in path");
        if (Path.IsPathRooted(relative) || relative.StartsWith('~'))
            throw new PathOutsideFolderException($"'{relative}': paths must be relative to the served folder");
        string combined = Path.GetFullPath(Path.Combine(Root, relative));
        if (!IsInside(combined)) throw new PathOutsideFolderException($"'{relative}' leads outside the served folder");
        string real = RealPath(combined);
        if (!IsInside(real)) throw new PathOutsideFolderException($"'{relative}' resolves outside the served folder (through a symbolic link)");
        return real;
    }

    /// <summary>
    /// Checks that every entry of the folder <paramref name="absolute"/> (already resolved by <see cref="Resolve"/>) down to
    /// <paramref name="depth"/> levels (1: its direct entries) stays inside <see cref="Root"/> once its links are
    /// followed, so a reader that follows links (an image folder's class folders and files) cannot be led outside.
    /// Throws <see cref="PathOutsideFolderException"/> naming the first entry that leads outside.
    /// </summary>
    public void RequireTreeInside(string absolute, int depth)
    {
        if (depth < 1) return;
        foreach (var entry in new DirectoryInfo(absolute).EnumerateFileSystemInfos())
        {
            string real = entry.LinkTarget is null ? entry.FullName : RealPath(entry.FullName);
            if (!IsInside(real))
                throw new PathOutsideFolderException($"'{Relative(entry.FullName)}' resolves outside the served folder (through a symbolic link)");
            if (Directory.Exists(real)) RequireTreeInside(entry.FullName, depth - 1);
        }
    }

    /// <summary><paramref name="absolute"/> relative to <see cref="Root"/>, with '/' separators (for listings and documents).</summary>
    public string Relative(string absolute) => Path.GetRelativePath(Root, absolute).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>True when <paramref name="absolute"/> (already resolved) is inside <see cref="Root"/> or is it.</summary>
    public bool IsInside(string absolute) =>
        absolute == Root || absolute.StartsWith(Root.EndsWith(Path.DirectorySeparatorChar) ? Root : Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Resolves every symbolic link on the path: each existing prefix is replaced by its final target,
    /// the part that does not exist yet is appended unchanged.</summary>
    static string RealPath(string absolute)
    {
        string current = Path.GetPathRoot(absolute)!;
        string[] parts = absolute[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            string next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists && info.LinkTarget is null)
                return Path.Combine([current, .. parts[i..]]); // the rest does not exist: nothing more to resolve
            var target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
            // a link is replaced by its target, which may itself contain links: resolve it again from its root
            current = target is null ? next : RealPath(Path.GetFullPath(target.FullName));
        }
        return current;
    }
}

/// <summary>A client path the server will not touch: absolute, or leading outside the served folder. HTTP 400.</summary>
internal sealed class PathOutsideFolderException(string message) : ArgumentException(message);
