namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>The served folder's sandbox on its own: paths inside resolve, everything that leaves is refused by name.</summary>
public sealed class FolderGuardTests
{
    string root = "";
    string outside = "";

    [SetUp]
    public void CreateFolders()
    {
        string temp = Path.Combine(Path.GetTempPath(), "neuro-guard-" + Guid.NewGuid().ToString("N"));
        root = Path.Combine(temp, "served");
        outside = Path.Combine(temp, "outside");
        Directory.CreateDirectory(Path.Combine(root, "models"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.neuro"), "x");
        File.CreateSymbolicLink(Path.Combine(root, "models", "escape.neuro"), Path.Combine(outside, "secret.neuro"));
        Directory.CreateSymbolicLink(Path.Combine(root, "linked"), outside);
    }

    [TearDown]
    public void DeleteFolders() => Directory.Delete(Path.GetDirectoryName(root)!, recursive: true);

    [Test]
    public void PathsInsideResolveUnderTheRoot()
    {
        var guard = new FolderGuard(root);
        Assert.That(guard.Resolve("models/a.neuro"), Is.EqualTo(Path.Combine(guard.Root, "models", "a.neuro")));
        Assert.That(guard.Resolve("models/../b.neuro"), Is.EqualTo(Path.Combine(guard.Root, "b.neuro")));
        Assert.That(guard.Relative(guard.Resolve("models/a.neuro")), Is.EqualTo("models/a.neuro"));
    }

    [TestCase("../outside/secret.neuro", "leads outside")]
    [TestCase("models/../../x.neuro", "leads outside")]
    [TestCase("/etc/passwd", "must be relative")]
    [TestCase("models/escape.neuro", "symbolic link")]
    [TestCase("linked/secret.neuro", "symbolic link")]
    [TestCase("linked/new.neuro", "symbolic link")]
    [TestCase("", "required")]
    public void PathsLeavingTheFolderAreRefused(string path, string reason)
    {
        var guard = new FolderGuard(root);
        var e = Assert.Throws<PathOutsideFolderException>(() => guard.Resolve(path));
        Assert.That(e!.Message, Does.Contain(reason));
    }
}
