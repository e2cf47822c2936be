"""The weak-match cut-off: a search shows its strong matches and keeps the weak tail (scores far
below the best) behind "show N weaker matches"."""

from photoclip.core.search import MIN_STRONG, SearchResult, split_weak


def results(scores, match=None):
    return [SearchResult(f"/p/{i}.jpg", s, i, "/p", match=match) for i, s in enumerate(scores)]


def test_a_few_strong_matches_among_many_weak_ones():
    strong_scores = [0.31, 0.30, 0.30, 0.29] + [0.28] * 36
    weak_scores = [0.19 - 0.0003 * i for i in range(160)]
    strong, weak = split_weak(results(strong_scores + weak_scores))
    assert len(strong) == 40 and len(weak) == 160
    assert min(r.score for r in strong) > max(r.score for r in weak)


def test_at_least_a_screenful_is_shown_and_short_lists_are_not_cut():
    strong, weak = split_weak(results([0.33] + [0.15 - 0.0001 * i for i in range(100)]))
    assert len(strong) == MIN_STRONG and len(weak) == 101 - MIN_STRONG
    few = results([0.3, 0.1, 0.05])
    assert split_weak(few) == (few, [])


def test_name_and_tag_matches_are_never_weak_and_the_order_is_kept():
    named = results([0.05, 0.04], match="name")
    ranked = results([0.3 - 0.001 * i for i in range(20)] + [0.1 - 0.001 * i for i in range(80)])
    strong, weak = split_weak(named + ranked)
    assert strong[:2] == named and all(r.match is None for r in weak)
    by_name = sorted(named + ranked, key=lambda r: r.path)  # another order: the cut keeps it
    s2, w2 = split_weak(by_name)
    assert [r.path for r in s2] == sorted(r.path for r in strong) and len(w2) == len(weak)
