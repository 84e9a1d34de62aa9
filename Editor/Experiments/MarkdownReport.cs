using System.Text;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>Builds an experiment's markdown report: headings, paragraphs, charts, tables of numbers, conclusions.</summary>
internal sealed class MarkdownReport
{
    readonly StringBuilder text = new();

    public MarkdownReport Heading(string title, int level = 1)
    {
        text.Append('#', level).Append(' ').AppendLine(title).AppendLine();
        return this;
    }

    public MarkdownReport Paragraph(string paragraph)
    {
        text.AppendLine(paragraph).AppendLine();
        return this;
    }

    /// <summary>An image by its path relative to the report (the PNGs sit beside it).</summary>
    public MarkdownReport Image(string caption, string path)
    {
        text.Append("![").Append(caption).Append("](").Append(Path.GetFileName(path)).AppendLine(")").AppendLine();
        return this;
    }

    /// <summary>A table; the first column is left-aligned (names), the others right-aligned (numbers). A '|' inside
    /// a cell (as in <c>|w|</c>) is escaped so that it does not split the cell.</summary>
    public MarkdownReport Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        static string Cell(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal);
        text.Append("| ").AppendJoin(" | ", headers.Select(Cell)).AppendLine(" |");
        text.Append("| --- |").Append(string.Concat(Enumerable.Repeat(" ---: |", headers.Count - 1))).AppendLine();
        foreach (var row in rows)
        {
            if (row.Count != headers.Count)
                throw new ArgumentException($"a table row has {row.Count} cells for {headers.Count} headers");
            text.Append("| ").AppendJoin(" | ", row.Select(Cell)).AppendLine(" |");
        }
        text.AppendLine();
        return this;
    }

    /// <summary>The "Conclusion" section: one bullet per checked claim.</summary>
    public MarkdownReport Conclusions(IEnumerable<Conclusion> conclusions)
    {
        Heading("Conclusion", 2);
        foreach (var conclusion in conclusions) text.Append("- ").AppendLine(conclusion.ToString());
        text.AppendLine();
        return this;
    }

    /// <summary>Writes the report and returns its path.</summary>
    public string Save(string path)
    {
        File.WriteAllText(path, text.ToString());
        return path;
    }

    public override string ToString() => text.ToString();
}

/// <summary>Number formats shared by the reports (invariant culture, so reports read the same everywhere).</summary>
internal static class Format
{
    /// <summary>0.8734 → "87.3 %".</summary>
    public static string Percent(double fraction) =>
        double.IsFinite(fraction) ? (100 * fraction).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "n/a";

    /// <summary>Three significant digits, scientific outside [0.001, 10000): "0.0123", "1.2e-07".</summary>
    public static string Number(double value) =>
        !double.IsFinite(value) ? (double.IsNaN(value) ? "NaN (diverged)" : "∞ (diverged)")
        : value == 0 ? "0"
        : Math.Abs(value) is >= 1e3 and < 1e4 ? value.ToString("0", CultureInfo.InvariantCulture)
        : Math.Abs(value) is >= 1e-3 and < 1e3 ? value.ToString("G3", CultureInfo.InvariantCulture)
        : value.ToString("0.00e+0", CultureInfo.InvariantCulture);

    /// <summary>A ratio "×123".</summary>
    public static string Times(double ratio) => "×" + Number(ratio);

    /// <summary>Milliseconds with three significant digits: "0.412 ms"; "n/a" when not measured.</summary>
    public static string Milliseconds(double milliseconds) =>
        double.IsFinite(milliseconds) ? milliseconds.ToString("G3", CultureInfo.InvariantCulture) + " ms" : "n/a";

    /// <summary>Seconds with one decimal: "12.3 s".</summary>
    public static string Seconds(double seconds) => seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
