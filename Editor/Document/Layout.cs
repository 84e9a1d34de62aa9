namespace NeuroPlugin.Editor.Document;

/// <summary>
/// The server's own placement of nodes, for documents it makes (opened files, templates) and nodes it inserts: a
/// layered layout (each node one row below its deepest input, nodes of a row side by side) and room made below an
/// inserted node. The browser replaces it with its measured layout (one <c>moveNodes</c>, folded into the change
/// that needed it), so this only has to be legible, not pretty.
/// </summary>
internal static class Layout
{
    public const double RowHeight = 100, ColumnWidth = 220;

    /// <summary>Positions every node of <paramref name="document"/> by depth (longest path from an input).</summary>
    public static void Apply(EditorDocument document) => Place(DocumentAnalysis.TopologicalOrder(document, out _), 0, 0);

    /// <summary>Positions <paramref name="nodes"/> (topologically ordered) by their depth among themselves, from (x, y).</summary>
    public static void Place(IReadOnlyList<DocumentNode> nodes, double x, double y)
    {
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        var perRow = new Dictionary<int, int>();
        foreach (var node in nodes)
        {
            int d = 0;
            foreach (string? input in node.Inputs)
                if (input is not null && depth.TryGetValue(input, out int inputDepth)) d = Math.Max(d, inputDepth + 1);
            depth[node.Id] = d;
            int column = perRow[d] = perRow.GetValueOrDefault(d) + 1;
            node.X = x + (column - 1) * ColumnWidth;
            node.Y = y + d * RowHeight;
        }
    }

    /// <summary>
    /// Moves <paramref name="followers"/> (the nodes that now read something just inserted, whose lowest row ends at
    /// <paramref name="bottom"/>) and every node downstream of them down, just far enough that the nearest follower
    /// starts one row below the insertion; nothing moves when they already do. Nodes in <paramref name="inserted"/>
    /// never move.
    /// </summary>
    public static void MakeRoom(EditorDocument document, IReadOnlyCollection<DocumentNode> followers, double bottom, IReadOnlyCollection<DocumentNode> inserted)
    {
        if (followers.Count == 0) return;
        double shift = bottom + RowHeight - followers.Min(f => f.Y);
        if (shift <= 0) return;
        var moved = new HashSet<string>(StringComparer.Ordinal);
        var skip = new HashSet<string>(inserted.Select(n => n.Id), StringComparer.Ordinal);
        var pending = new Queue<DocumentNode>(followers);
        while (pending.TryDequeue(out var node))
        {
            if (skip.Contains(node.Id) || !moved.Add(node.Id)) continue;
            node.Y += shift;
            foreach (var reader in document.Nodes)
                if (reader.Inputs.Contains(node.Id)) pending.Enqueue(reader);
        }
    }
}
