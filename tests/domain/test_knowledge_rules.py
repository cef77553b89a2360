"""Knowledge search rules, without an index: what was typed, typos, snippets, votes."""

from __future__ import annotations

import pytest

from agent_desktop.domain import knowledge as k


def test_what_the_agent_typed_is_split_like_the_index_splits_it() -> None:
    q = k.parse_query("  Wi-Fi extender REBO")
    assert q.words == ("wi", "fi", "extender", "rebo")
    assert q.typing and q.problem == ""
    done = k.parse_query("modem reboot ")
    assert not done.typing
    assert k.parse_query("the internet bill").significant == ("internet", "bill")
    assert k.parse_query("the").significant == ("the",)  # nothing else to go on
    assert k.parse_query("internet th").significant == ("internet", "th")  # may be "throttle"
    assert k.parse_query("bill bill").significant == ("bill",)


@pytest.mark.parametrize("typed, says", [
    ("", "Type a few words"),
    ("\t \n", "Type a few words"),
    ("y" * (k.MAX_QUERY_CHARS + 1), "too long"),
    ("a b c d e f g h i j k l m", "too many words"),
    ("--- ??? ***", "Nothing to search for"),
])
def test_a_query_that_cannot_run_says_why(typed: str, says: str) -> None:
    q = k.parse_query(typed)
    assert says in q.problem
    assert q.words == ()


def test_a_typo_is_corrected_to_the_closest_word_of_the_same_length_first() -> None:
    vocabulary = ["mode", "modem", "model", "modems", "reboot", "router"]
    counts = {"mode": 50, "modem": 10, "model": 5}
    # "mode" (one letter dropped) is commoner, but a swap of two letters is the likelier slip.
    assert k.close_words("modme", vocabulary, 3, counts)[0] == ("modem", 1)
    assert k.close_words("rebot", vocabulary, 1) == [("reboot", 1)]
    assert k.close_words("bil", ["bill"], 3) == []  # too short to guess at
    assert k.close_words("qqqqqq", vocabulary) == []
    assert k.typo_budget("tv") == 0 and k.typo_budget("modem") == 1
    assert k.typo_budget("proration") == 2 and k.typo_budget("123456") == 0


def test_article_codes_are_read_in_any_spelling() -> None:
    assert k.article_code("KB-0005") == "KB-0005"
    assert k.article_code(" kb 5 ") == "KB-0005"
    assert k.article_code("kb0027") == "KB-0027"
    assert k.article_code("kb modem") is None


def test_plain_text_drops_markdown_marks() -> None:
    md = ("## What to say\n\n1. Open **Customer 360** and check `EQ-GW`.\n- See "
          "[the outage map](https://example.test/map).\n\n---\n> Never promise a date.\n")
    text = k.plain_text(md)
    assert text.splitlines() == ["What to say", "Open Customer 360 and check EQ-GW.",
                                 "See the outage map.", "Never promise a date."]


def test_a_snippet_shows_the_words_matched_and_marks_them() -> None:
    body = ("Intro that says nothing useful at all about the matter in hand. " * 4
            + "Restart the gateway: hold the reset button. The gateway restarts in 5 "
            "minutes. " + "Filler text follows here for a while. " * 6)
    pattern = k.highlighter(["gateway", "restart"])
    fragment, marks = k.snippet(body, pattern, width=120)
    assert len(fragment) <= 120 + 3
    marked = [fragment[a:b] for a, b in marks]
    assert "gateway" in marked and "Restart" in marked and "restarts" in marked
    assert fragment.startswith("\u2026 ") and fragment.endswith("\u2026")  # cut both ends
    assert fragment.strip("\u2026 ") in body
    # No match: the start of the text, cut at a word.
    start, none = k.snippet(body, k.highlighter(["zeppelin"]), width=30)
    assert none == () and start == "Intro that says nothing\u2026"
    assert k.snippet("Short.", None) == ("Short.", ())


def test_highlights_take_whole_words_with_short_endings_only() -> None:
    pattern = k.highlighter(["bill"])
    text = "Billing: the bill, bills and billed. A billboard or Buffalo Bill's xbill"
    _fragment, marks = k.snippet(text, pattern, width=200)
    assert [text[a:b] for a, b in marks] == ["Billing", "bill", "bills", "billed", "Bill"]
    assert k.highlighter([]) is None


def test_marked_segments_cut_the_text_by_the_marks() -> None:
    assert k.marked_segments("late fee posts", [(0, 4), (5, 8)]) == (
        ("late", True), (" ", False), ("fee", True), (" posts", False))
    assert k.marked_segments("abc", [(2, 9), (1, 2), (1, 2)]) == (
        ("a", False), ("b", True), ("c", True))
    assert k.marked_segments("", []) == ()


def test_each_agent_counts_once_with_their_latest_vote() -> None:
    votes = [
        k.Vote("dana", True, ("2026-11-01T10:00:00", "a")),
        k.Vote("sam", True, ("2026-11-01T11:00:00", "b")),
        k.Vote("dana", False, ("2026-11-02T09:00:00", "c")),  # Dana changed her mind
    ]
    assert k.tally(votes) == (1, 1)
    assert k.tally([]) == (0, 0)


def test_case_text_keeps_the_words_that_say_what_it_is_about() -> None:
    text = "Customer reports Internet dropping several times a day since 3 days; asks for help"
    assert k.key_terms(text) == ["internet", "dropping", "several", "times"]
    assert k.key_terms("") == []


def test_catalog_families_map_to_the_articles_that_help_them() -> None:
    assert k.article_products(["internet", "tv", "internet"]) == ("internet", "equipment", "tv")
    assert k.article_products(["solar"]) == ("solar",)
