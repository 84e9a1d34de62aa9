using System.Globalization;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// Just enough of the GLSL preprocessor to tell which lines of a kernel are compiled: object-like <c>#define</c> and
/// <c>#undef</c>, <c>#if</c>/<c>#ifdef</c>/<c>#ifndef</c>/<c>#elif</c>/<c>#else</c>/<c>#endif</c>, and integer
/// expressions with <c>defined</c>, <c>! ~ * / % + - &lt; &gt; &lt;= &gt;= == != &amp;&amp; ||</c> and parentheses (an
/// undefined name is 0, as in C). Feed it the preprocessed source line by line (<see cref="Consume"/>).
/// For validation mode's <see cref="ShaderInterface"/>.
/// </summary>
internal sealed class ShaderConditions
{
    readonly Dictionary<string, string> macros = new(StringComparer.Ordinal);
    // one frame per open #if: is this branch active, has any branch of the group been taken, was the parent active
    readonly Stack<(bool Active, bool Taken, bool ParentActive)> frames = new();

    /// <summary>True when the lines read now are compiled (every enclosing condition holds).</summary>
    public bool IsActive => Active;

    bool Active => frames.Count == 0 || frames.Peek().Active;

    /// <summary>Handles a line: true for a directive (applied when active) or any line of an inactive branch; false
    /// for an active line of code, which the caller reads.</summary>
    public bool Consume(string line)
    {
        string trimmed = line.TrimStart();
        if (!trimmed.StartsWith('#')) return !Active;
        string body = trimmed[1..].TrimStart();
        int space = 0;
        while (space < body.Length && char.IsLetter(body[space])) space++;
        string directive = body[..space], rest = StripComment(body[space..]).Trim();
        switch (directive)
        {
            case "if":
                Open(Active && Evaluate(rest) != 0);
                break;
            case "ifdef":
                Open(Active && macros.ContainsKey(rest));
                break;
            case "ifndef":
                Open(Active && !macros.ContainsKey(rest));
                break;
            case "elif":
            {
                var (_, taken, parent) = Close("#elif");
                bool now = parent && !taken && Evaluate(rest) != 0;
                frames.Push((now, taken || now, parent));
                break;
            }
            case "else":
            {
                var (_, taken, parent) = Close("#else");
                frames.Push((parent && !taken, true, parent));
                break;
            }
            case "endif":
                Close("#endif");
                break;
            case "define" when Active:
            {
                int end = 0;
                while (end < rest.Length && (char.IsLetterOrDigit(rest[end]) || rest[end] == '_')) end++;
                if (end < rest.Length && rest[end] == '(') break; // function-like macros never hold bindings
                macros[rest[..end]] = rest[end..].Trim();
                break;
            }
            case "undef" when Active:
                macros.Remove(rest);
                break;
        }
        return true;
    }

    void Open(bool active) => frames.Push((active, active, Active));

    (bool Active, bool Taken, bool ParentActive) Close(string directive) =>
        frames.Count > 0 ? frames.Pop() : throw new FormatException($"{directive} without #if");

    static string StripComment(string text)
    {
        int comment = text.IndexOf("//", StringComparison.Ordinal);
        return comment < 0 ? text : text[..comment];
    }

    /// <summary>The value of an integer preprocessor expression under the macros defined so far.</summary>
    public int Evaluate(string expression)
    {
        var parser = new Parser(this, expression, depth: 0);
        int value = parser.Or();
        parser.ExpectEnd();
        return value;
    }

    /// <summary>Recursive descent over one expression, C's precedence.</summary>
    struct Parser(ShaderConditions owner, string text, int depth)
    {
        int at;

        public void ExpectEnd()
        {
            Skip();
            if (at < text.Length) throw new FormatException($"unexpected '{text[at..]}' in preprocessor expression '{text}'");
        }

        public int Or()
        {
            int value = And();
            while (Take("||")) value = (And() != 0) | (value != 0) ? 1 : 0;
            return value;
        }

        int And()
        {
            int value = Equality();
            while (Take("&&")) value = (Equality() != 0) & (value != 0) ? 1 : 0;
            return value;
        }

        int Equality()
        {
            int value = Relation();
            while (true)
            {
                if (Take("==")) value = value == Relation() ? 1 : 0;
                else if (Take("!=")) value = value != Relation() ? 1 : 0;
                else return value;
            }
        }

        int Relation()
        {
            int value = Sum();
            while (true)
            {
                if (Take("<=")) value = value <= Sum() ? 1 : 0;
                else if (Take(">=")) value = value >= Sum() ? 1 : 0;
                else if (Take("<")) value = value < Sum() ? 1 : 0;
                else if (Take(">")) value = value > Sum() ? 1 : 0;
                else return value;
            }
        }

        int Sum()
        {
            int value = Product();
            while (true)
            {
                if (Take("+")) value += Product();
                else if (Take("-")) value -= Product();
                else return value;
            }
        }

        int Product()
        {
            int value = Unary();
            while (true)
            {
                if (Take("*")) value *= Unary();
                else if (Take("/")) value /= Unary();
                else if (Take("%")) value %= Unary();
                else return value;
            }
        }

        int Unary()
        {
            if (Take("!")) return Unary() == 0 ? 1 : 0;
            if (Take("-")) return -Unary();
            if (Take("+")) return Unary();
            if (Take("~")) return ~Unary();
            return Primary();
        }

        int Primary()
        {
            Skip();
            if (Take("("))
            {
                int value = Or();
                if (!Take(")")) throw new FormatException($"missing ')' in preprocessor expression '{text}'");
                return value;
            }
            int start = at;
            if (at < text.Length && char.IsDigit(text[at]))
            {
                while (at < text.Length && char.IsLetterOrDigit(text[at])) at++;
                string literal = text[start..at].TrimEnd('u', 'U');
                return literal.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    ? int.Parse(literal[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                    : int.Parse(literal, CultureInfo.InvariantCulture);
            }
            while (at < text.Length && (char.IsLetterOrDigit(text[at]) || text[at] == '_')) at++;
            if (at == start) throw new FormatException($"expected a value at '{text[start..]}' in preprocessor expression '{text}'");
            string name = text[start..at];
            if (name == "defined")
            {
                bool parenthesized = Take("(");
                Skip();
                int nameStart = at;
                while (at < text.Length && (char.IsLetterOrDigit(text[at]) || text[at] == '_')) at++;
                bool isDefined = owner.macros.ContainsKey(text[nameStart..at]);
                if (parenthesized && !Take(")")) throw new FormatException($"missing ')' after defined in '{text}'");
                return isDefined ? 1 : 0;
            }
            if (!owner.macros.TryGetValue(name, out string? body) || body.Length == 0) return 0;
            if (depth > 32) throw new FormatException($"macro {name} expands too deeply");
            var inner = new Parser(owner, body, depth + 1);
            int expanded = inner.Or();
            inner.ExpectEnd();
            return expanded;
        }

        bool Take(string token)
        {
            Skip();
            if (string.CompareOrdinal(text, at, token, 0, token.Length) != 0) return false;
            at += token.Length;
            return true;
        }

        void Skip()
        {
            while (at < text.Length && char.IsWhiteSpace(text[at])) at++;
        }
    }
}
