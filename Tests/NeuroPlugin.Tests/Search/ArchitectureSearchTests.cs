using NeuroPlugin.Search;

namespace NeuroPlugin.Tests.Search;

/// <summary>Regularized evolution on a small Fashion-MNIST subset on the CPU: reproducible from the seed, constraints
/// respected, the evolution's rules followed, every trained candidate's file holding the weights its accuracy was measured
/// with and its provenance, and the state file refusing another search's settings.</summary>
[NonParallelizable]
public class ArchitectureSearchTests : TempFolderFixture
{
    static readonly Lazy<(ImageDataset Train, ImageDataset Validation)> Data = new(() =>
    {
        var all = FashionMnist.LoadTrain();
        return (all.Subset(0, 256), all.Subset(all.Count - 128, 128));
    });

    static readonly SearchSettings Tiny = new()
    {
        Seed = 5, Population = 3, SampleSize = 2, TrainImages = 256, ValidationImages = 128, Epochs = 2, BatchSize = 32,
        MaxFlops = 845_648, // LeNet-5's
    };

    static SearchResult Search(string folder, SearchSettings settings, int candidates)
    {
        using var cpu = new CpuBackend();
        var (train, validation) = Data.Value;
        return new ArchitectureSearch(settings, train, validation, cpu, folder).Run(TimeSpan.FromMinutes(10), candidates);
    }

    [Test]
    public void Search_IsReproducible_FollowsTheEvolutionsRules_AndSavesWhatItMeasured()
    {
        var first = Search(Folder.Combine("a"), Tiny, candidates: 5);
        var second = Search(Folder.Combine("b"), Tiny, candidates: 5);
        Assert.That(first.End, Is.EqualTo(SearchEnd.Candidates));
        Assert.That(first.Candidates, Has.Count.EqualTo(5));
        Assert.That(second.Candidates.Select(Deterministic), Is.EqualTo(first.Candidates.Select(Deterministic)), "the same seed gives the same candidates");

        var other = Search(Folder.Combine("c"), Tiny with { Seed = 6 }, candidates: 2);
        Assert.That(other.Candidates.Select(c => c.Genome), Is.Not.EqualTo(first.Candidates.Take(2).Select(c => c.Genome)), "another seed, other architectures");

        for (int i = 0; i < first.Candidates.Count; i++)
        {
            var c = first.Candidates[i];
            Assert.That(c.Flops, Is.LessThanOrEqualTo(Tiny.MaxFlops), $"candidate {i} keeps to --max-flops");
            Assert.That(c.Status, Is.EqualTo(CandidateStatus.Trained));
            Assert.That(c.Epochs, Is.InRange(1, Tiny.Epochs));
            if (i < Tiny.Population) Assert.That((c.ParentId, c.Change), Is.EqualTo(((int?)null, "random")), "the first population is drawn at random");
            else
            {
                // the parent is one of the newest P trained candidates before this one
                Assert.That(c.ParentId, Is.InRange(i - Tiny.Population, i - 1), $"candidate {i}'s parent is in the population");
                Assert.That(c.Genome, Is.Not.EqualTo(first.Candidates[c.ParentId!.Value].Genome), "a mutation changes the parent");
            }
        }
        Assert.That(first.Front.Select(c => c.Id), Is.EqualTo(ParetoFront.Of(first.Candidates).Select(c => c.Id)));

        using var cpu = new CpuBackend();
        string searchFolder = Folder.Combine("a");
        foreach (var c in first.Candidates)
        {
            string path = Path.Combine(searchFolder, c.Model!);
            using var network = ModelFile.Load(path, cpu);
            Assert.That(Classification.Accuracy(network, Data.Value.Validation), Is.EqualTo(c.Accuracy), $"{path}: the saved weights give the recorded accuracy");
            var provenance = SearchProvenance.Read(path)!;
            Assert.That(provenance, Is.EqualTo(new SearchProvenance(Tiny.Seed, Tiny.Dataset, c.Id, c.ParentId, c.Genome.ToString(), c.Accuracy!.Value, 128, c.Epochs,
                c.Parameters, c.Flops, c.LatencyMilliseconds, cpu.Name, cpu.DeviceName)));
            Assert.That(TrainingOptions.Read(ModelFile.ReadTrainingOptions(path)!).Epochs, Is.EqualTo(Tiny.Epochs), "the short training's recipe is kept");
        }
        Assert.That(Directory.GetFiles(Path.Combine(searchFolder, ArchitectureSearch.FrontFolder)).Select(Path.GetFileName),
            Is.EquivalentTo(first.Front.Select(c => SearchCandidate.FileName(c.Id))));
    }

    [Test]
    public void Search_ContinuesFromItsStateFile_ToTheCandidatesOfAnUninterruptedRun()
    {
        var straight = Search(Folder.Combine("straight"), Tiny, candidates: 4);
        string resumedFolder = Folder.Combine("resumed");
        Search(resumedFolder, Tiny, candidates: 2);
        var resumed = Search(resumedFolder, Tiny, candidates: 4);
        Assert.That(resumed.Resumed, Is.EqualTo(2));
        Assert.That(resumed.Candidates.Select(Deterministic), Is.EqualTo(straight.Candidates.Select(Deterministic)));
        Assert.That(File.ReadAllText(Path.Combine(resumedFolder, ArchitectureSearch.LogFile)), Does.Contain("resumed after 2 candidates"));
    }

    [Test]
    public void Resume_WithOtherSettings_NamesTheSetting()
    {
        Search(Folder.Path, Tiny, candidates: 1);
        using var cpu = new CpuBackend();
        var e = Assert.Throws<SearchException>(() => new ArchitectureSearch(Tiny with { Population = 4 }, Data.Value.Train, Data.Value.Validation, cpu, Folder.Path));
        Assert.That(e!.Field, Is.EqualTo("population"));
        Assert.That(e.Message, Does.Contain(SearchState.FileName).And.Contain("population 3, this one 4"));
    }

    [Test]
    public void ImpossibleConstraint_IsASearchErrorNamingIt_AndACorruptStateFileNamesTheFile()
    {
        var e = Assert.Throws<SearchException>(() => Search(Folder.Path, Tiny with { MaxFlops = 1000 }, candidates: 1));
        Assert.That(e!.Field, Is.EqualTo("maxFlops"));
        Assert.That(e.Message, Does.Contain("at most 1,000 FLOPs"));

        File.WriteAllText(Folder.Combine(SearchState.FileName), "{\"format\":\"neuro-search\",\"version\":1,\"settings\":{},\"candidates\":[{\"id\":3}]}");
        using var cpu = new CpuBackend();
        var corrupt = Assert.Throws<SearchException>(() => new ArchitectureSearch(Tiny, Data.Value.Train, Data.Value.Validation, cpu, Folder.Path));
        Assert.That(corrupt!.Message, Does.Contain(SearchState.FileName).And.Contain("not a search state file"));

        var invalid = Assert.Throws<SearchException>(() => new ArchitectureSearch(Tiny with { SampleSize = 9 }, Data.Value.Train, Data.Value.Validation, cpu, Folder.Path));
        Assert.That(invalid!.Field, Is.EqualTo("sampleSize"));
    }

    /// <summary>What the seed decides: everything but the measured latency and the training time.</summary>
    internal static object Deterministic(SearchCandidate c) =>
        (c.Id, c.ParentId, c.Change, c.Genome.ToString(), c.Parameters, c.Flops, c.Status, c.Accuracy, c.Epochs, c.Model);
}
