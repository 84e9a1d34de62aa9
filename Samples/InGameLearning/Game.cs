namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>The kinds of falling shape. The game knows each shape's kind; the player has to see it.</summary>
public enum ShapeKind { Circle, Square, Triangle, Cross }

/// <summary>One falling shape in world units: the world is the square [0,1]², y up, the player's line at
/// <see cref="Game.PlayerLine"/>.</summary>
public sealed class Shape
{
    public required int Id { get; init; }
    public required ShapeKind Kind { get; init; }
    public required float X { get; init; }
    public float Y { get; set; }
    /// <summary>Half the shape's width (circle radius, half the square's side), world units.</summary>
    public required float Size { get; init; }
    public float Rotation { get; set; }
    public required float FallSpeed { get; init; }
    public required float Spin { get; init; }
    /// <summary>Fill colour, linear RGB in [0,1]: random, so colour says nothing about the kind.</summary>
    public required (float R, float G, float B) Color { get; init; }
    /// <summary>What the player believes this shape is: the network's latest prediction for a frame in which it was
    /// the nearest shape (null until one arrives).</summary>
    public ShapeKind? Believed { get; set; }
}

/// <summary>What happened when a shape reached the player: the reaction chosen from the network's belief, and
/// whether it was the right one for the shape's true kind.</summary>
public readonly record struct Resolution(int Frame, ShapeKind Kind, ShapeKind? Reaction)
{
    public bool Correct => Reaction == Kind;
}

/// <summary>
/// The game's host-side logic: shapes of four kinds fall at random positions, speeds, sizes, spins and
/// colours; when one reaches the player's line the player reacts to it (catch a circle, block a square,
/// dodge a triangle, jump a cross) according to what the network believes it is. Right reactions score
/// +1, wrong ones (or none, when no prediction has arrived yet) −1. A fixed simulated timestep and one
/// seeded generator make every run with the same seed identical: the player's reactions change the
/// score, never the world.
/// </summary>
public sealed class Game
{
    /// <summary>Simulated seconds per frame (60 frames per game second).</summary>
    public const float TimeStep = 1f / 60f;
    /// <summary>Height of the player's line: shapes reaching it are resolved.</summary>
    public const float PlayerLine = 0.1f;
    /// <summary>Seconds between spawns.</summary>
    public const float SpawnInterval = 0.12f;

    readonly Random random;
    readonly List<Shape> shapes = [];
    readonly List<Resolution> resolutions = [];
    float untilSpawn;
    int nextId;

    /// <summary>A game already in full swing: shapes at every height from the top down to the middle of the screen.</summary>
    public Game(int seed)
    {
        random = new Random(seed);
        for (float y = 1f; y > 0.4f; y -= 0.08f) shapes.Add(Spawn(y));
        untilSpawn = SpawnInterval;
    }

    /// <summary>Frames simulated so far.</summary>
    public int Frame { get; private set; }
    /// <summary>Simulated seconds so far.</summary>
    public float Time => Frame * TimeStep;
    /// <summary>Shapes still falling, oldest first.</summary>
    public IReadOnlyList<Shape> Shapes => shapes;
    /// <summary>The shapes that reached the player in the latest <see cref="Step"/>, in order (a game of any length keeps
    /// no history: each step replaces them).</summary>
    public IReadOnlyList<Resolution> Resolutions => resolutions;
    /// <summary>Shapes that reached the player so far.</summary>
    public int Reactions { get; private set; }
    /// <summary>Of those, the ones the player reacted to rightly.</summary>
    public int CorrectReactions { get; private set; }
    /// <summary>+1 per right reaction, −1 per wrong one.</summary>
    public int Score { get; private set; }

    /// <summary>The falling shape closest to the player's line: the one the player must react to next.</summary>
    public Shape? Nearest
    {
        get
        {
            Shape? nearest = null;
            foreach (var shape in shapes)
                if (nearest is null || shape.Y < nearest.Y) nearest = shape;
            return nearest;
        }
    }

    /// <summary>Advances the world by <see cref="TimeStep"/>: moves and spins every shape, resolves those that
    /// reached the player's line (reacting to what <see cref="Shape.Believed"/> says), spawns new ones.</summary>
    public void Step()
    {
        Frame++;
        resolutions.Clear();
        for (int i = shapes.Count - 1; i >= 0; i--)
        {
            var shape = shapes[i];
            shape.Y -= shape.FallSpeed * TimeStep;
            shape.Rotation += shape.Spin * TimeStep;
            if (shape.Y > PlayerLine) continue;
            var resolution = new Resolution(Frame, shape.Kind, shape.Believed);
            resolutions.Add(resolution);
            Reactions++;
            if (resolution.Correct) CorrectReactions++;
            Score += resolution.Correct ? 1 : -1;
            shapes.RemoveAt(i);
        }
        untilSpawn -= TimeStep;
        if (untilSpawn <= 0f)
        {
            shapes.Add(Spawn(1f));
            untilSpawn += SpawnInterval;
        }
    }

    /// <summary>A new shape of random kind, size, place, speed, spin and colour, its top edge at height <paramref name="top"/>.</summary>
    Shape Spawn(float top)
    {
        float size = Uniform(0.045f, 0.075f);
        // A saturated random colour: hue anywhere, never too dark against the background.
        float hue = Uniform(0f, 6f), c = Uniform(0.55f, 1f), x = c * (1 - Math.Abs(hue % 2 - 1)), m = Uniform(0.15f, 0.3f);
        var (r, g, b) = (int)hue switch
        {
            0 => (c, x, 0f), 1 => (x, c, 0f), 2 => (0f, c, x), 3 => (0f, x, c), 4 => (x, 0f, c), _ => (c, 0f, x),
        };
        return new Shape
        {
            Id = nextId++,
            Kind = (ShapeKind)random.Next(4),
            X = Uniform(0.1f, 0.9f),
            Y = top + size,
            Size = size,
            Rotation = Uniform(0f, MathF.Tau),
            FallSpeed = Uniform(0.6f, 0.9f),
            Spin = Uniform(-3f, 3f),
            Color = (MathF.Min(1f, r + m), MathF.Min(1f, g + m), MathF.Min(1f, b + m)),
        };
    }

    float Uniform(float min, float max) => min + (float)random.NextDouble() * (max - min);
}
