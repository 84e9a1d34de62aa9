namespace NeuroPlugin.Tests.Training;

// The last-item limit (FrameBudget.LastItemLimit) under a fake clock.
public partial class FrameBudgetPartsTests
{
    [Test]
    public void FakeClock_AFramesLastItemIsShort_AndStartsOnlyWhenItFits()
    {
        // one stage of 2000 units of 10 µs (20 ms), split for 1 ms frames (parts of at most 0.125 ms), then run in 4 ms frames:
        // each frame's work up to 1 ms before its end is one item, its last millisecond another
        var clock = new FakeWork.Clock();
        var work = new FakeWork(clock, [2000], unitCost: TimeSpan.FromMicroseconds(10));
        using var budget = work.Budget = new FrameBudget(backend, 1, () => clock.Ticks);
        Assert.That(budget.LastItemLimit, Is.EqualTo(TimeSpan.FromMilliseconds(1)), "the default");
        work.RunFrames(200, TimeSpan.FromMilliseconds(1));
        var frame = TimeSpan.FromMilliseconds(4);
        var limit = budget.LastItemLimit.TotalSeconds;

        // (a frame that ends the stage runs the next sequence's first parts as an item of their own)
        var items = ItemsOf(work, 100, frame);
        Assert.That(items.Select(f => f.Count), Is.All.InRange(2, 3), "items a 4 ms frame runs");
        foreach (var frameItems in items)
        {
            var (_, spent, estimate) = frameItems[^1];
            Assert.That(estimate, Is.LessThanOrEqualTo(limit + 1e-9), "the last item's estimate");
            Assert.That(spent + estimate, Is.GreaterThan(frame.TotalSeconds - FrameBudget.PartShare * 1e-3), "the last item fills the frame");
            foreach (var (_, before, other) in frameItems)
                Assert.That(other <= limit + 1e-9 || before + other <= frame.TotalSeconds - limit + 1e-9, Is.True,
                    $"an item of {other * 1e3:F3} ms reached into the frame's last millisecond from {before * 1e3:F3} ms");
        }
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit");
        Assert.That(work.OverBudgetFramesAfter(frames: 200), Is.Zero, "frames over the budget");

        // a window no longer than the limit may end the frame (a 1.5 ms budget: 0.5 ms, then a last item of 1 ms)
        Assert.That(ItemsOf(work, 20, TimeSpan.FromMilliseconds(1.5)).Select(f => f.Count), Is.All.InRange(2, 3), "items of a 1.5 ms frame");
        // without the limit, one window fills the frame
        budget.LastItemLimit = TimeSpan.Zero;
        Assert.That(ItemsOf(work, 20, frame).Select(f => f.Count), Is.All.InRange(1, 2), "items of a 4 ms frame without the limit");
        Assert.That(() => budget.LastItemLimit = TimeSpan.FromTicks(-1),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("cannot be negative"));
    }

    [TestCase(1.0, 0.5)]
    [TestCase(0.0, 2.0)]
    public void FakeClock_AtLargeBudgets_PartsStayUnderHalfTheLastItemLimit(double limitMilliseconds, double largestPartMilliseconds)
    {
        // 16 ms frames split a 20 ms stage into parts of an eighth of the budget (2 ms), or of half the last-item limit,
        // so that a frame's last item can be as short as the limit
        var clock = new FakeWork.Clock();
        var work = new FakeWork(clock, [2000], unitCost: TimeSpan.FromMicroseconds(10));
        using var budget = work.Budget = new FrameBudget(backend, 1, () => clock.Ticks) { LastItemLimit = TimeSpan.FromMilliseconds(limitMilliseconds) };
        work.RunFrames(50, TimeSpan.FromMilliseconds(16));
        double largest = Enumerable.Range(0, budget.PartCount(0)).Max(p => budget.PartEstimate(0, p)!.Value.TotalMilliseconds);
        Assert.That(largest, Is.InRange(0.5 * largestPartMilliseconds, largestPartMilliseconds + 0.01), "the largest part (ms)");
    }

    /// <summary>Runs <paramref name="frames"/> frames of <paramref name="each"/> and returns each frame's items (time spent
    /// before it, estimate).</summary>
    static List<List<(int Frame, double Spent, double Estimate)>> ItemsOf(FakeWork work, int frames, TimeSpan each)
    {
        work.Items.Clear();
        work.RunFrames(frames, each);
        return [.. work.Items.GroupBy(item => item.Frame).Select(frame => frame.ToList())];
    }
}
