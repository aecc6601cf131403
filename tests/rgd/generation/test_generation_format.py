"""The tagged-block format: rendering, and a parser that never crashes on model output."""

import pytest

from rgd.data.schema import Provenance, Question
from rgd.generation.format import normalise_text, parse_generation, question_id, render_question_block

PROV = Provenance(kind="generated", source="org/gen-7b", prompt_version="rgd-gen-v1", seed=3)


def block(text="What is 2+2?", options=("3", "4", "5", "6"), answer="B", subject="math"):
    opts = "\n".join(f"{chr(65 + i)}) {o}" for i, o in enumerate(options))
    ans = "" if answer is None else f"<answer>{answer}</answer>"
    return f"<question><subject>{subject}</subject><text>{text}</text><options>\n{opts}\n</options>{ans}</question>"


def parse(text, k=4):
    return parse_generation(text, k, "math", PROV)


def test_render_then_parse_round_trips_exactly():
    qs = [
        Question(id="x1", subject="physics", text="A mass m on a spring k.\nFind the period.",
                 options=["2π√(m/k)", "√(k/m)", "m/k", "k/m"], answer="A"),
        Question(id="x2", subject="physics", text="Which is a boson?",
                 options=["electron", "photon\n(a gauge boson)", "proton", "neutron"], answer="B"),
    ]
    text = "Here are your questions:\n\n" + "\n\n".join(render_question_block(q) for q in qs) + "\nDone."
    result = parse_generation(text, 4, "physics", PROV)
    assert not result.skipped
    assert [(q.text, q.options, q.answer, q.subject) for q in result.questions] == [
        (q.text, q.options, q.answer, q.subject) for q in qs
    ]
    for q in result.questions:
        assert q.provenance == PROV
        assert q.id == question_id("org/gen-7b", q.text)
        assert q.id.startswith("gen-org_gen-7b-")


def test_ten_option_round_trip():
    q = Question(id="z", subject="law", text="Pick J.", options=[f"choice {i}" for i in range(10)], answer="J")
    (parsed,) = parse_generation(render_question_block(q), 10, "law", PROV).questions
    assert parsed.options == q.options and parsed.answer == "J"


def test_chatter_and_markdown_fences_are_ignored():
    text = "Sure! Here you go:\n```xml\n" + block() + "\n```\n\n```\n" + block(text="What is 3+3?", options=("6", "7", "8", "9"), answer="A") + "\n```\nHope this helps."
    result = parse(text)
    assert [q.answer for q in result.questions] == ["B", "A"]
    assert not result.skipped


def test_fences_inside_fields_are_stripped():
    text = "<question><text>\n```\nCompute x.\n```\n</text><options>\n```\nA) 1\nB) 2\n```\n</options><answer>B</answer></question>"
    (q,) = parse_generation(text, 2, "math", PROV).questions
    assert q.text == "Compute x." and q.options == ["1", "2"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("<question><subject>m</subject><options>A) 1\nB) 2\nC) 3\nD) 4</options><answer>A</answer></question>", "missing_text"),
        ("<question><text>Q?</text><answer>A</answer></question>", "missing_options"),
        (block(answer=None), "missing_answer"),
        (block(text="   "), "empty_text"),
        (block(options=("1", "2", "3")), "wrong_option_count"),
        (block(answer="E"), "answer_outside_options"),
        (block(answer="I cannot decide"), "unreadable_answer"),
        (block(answer="the letter of the correct option"), "unreadable_answer"),
        ("<question><text>Q?</text><options>A) 1\nA) 2\nB) 3\nC) 4</options><answer>A</answer></question>", "duplicate_option_letter"),
        ("<question><text>Q?</text><options>A) 1\nB) 2\nD) 3\nE) 4</options><answer>A</answer></question>", "option_letters_not_sequential"),
        ("<question><text>Q?</text><options>1, 2, 3, 4</options><answer>A</answer></question>", "unlabelled_option_text"),
        ("<question><text>Q?</text><options>A)\nB) 2\nC) 3\nD) 4</options><answer>A</answer></question>", "empty_option"),
        (block(options=("4", "four!", "Four", "5")), "duplicate_option_text"),
        (block(options=("(4)", "4.", "5", "6")), "duplicate_option_text"),
        ("<question><text>Q?</text><options>A) 1\nB) 2", "unterminated_block"),
        ("I am sorry, I cannot write questions about that.", "no_question_blocks"),
        ("", "empty_generation"),
    ],
)
def test_unusable_blocks_are_skipped_with_a_reason(text, reason):
    result = parse(text)
    assert result.questions == []
    assert result.skipped == {reason: 1}


def test_any_option_count_when_not_expected():
    result = parse_generation(block(options=("1", "2", "3")), None, "math", PROV)
    assert len(result.questions) == 1 and not result.skipped
    assert parse_generation("<question><text>Q</text><options>A) only</options><answer>A</answer></question>",
                            None, "math", PROV).skipped == {"too_few_options": 1}


def test_good_blocks_survive_next_to_bad_ones():
    text = block() + block(answer="Z") + block(text="Other?", options=("a", "b", "c", "d"), answer="D") + "<question><text>cut off"
    result = parse(text)
    assert [q.text for q in result.questions] == ["What is 2+2?", "Other?"]
    assert result.skipped == {"answer_outside_options": 1, "unterminated_block": 1}


def test_block_missing_its_close_tag_is_read_when_complete():
    text = block()[: -len("</question>")] + "\n" + block(text="Second?")
    assert [q.text for q in parse(text).questions] == ["What is 2+2?", "Second?"]


@pytest.mark.parametrize("answer", ["C", " (C) ", "C)", "C. 5", "c", "(c)", "Answer: C", "The correct answer is C) 5", "option C"])
def test_answer_spellings(answer):
    (q,) = parse(block(answer=answer)).questions
    assert q.answer == "C"


def test_option_label_spellings_and_continuation_lines():
    text = "<question><text>Q?</text><options>(A) one\nB. two\n  spanning lines\nC: three\nD) four</options><answer>B</answer></question>"
    (q,) = parse(text).questions
    assert q.options == ["one", "two\nspanning lines", "three", "four"]


def test_tags_are_case_insensitive():
    text = block().replace("<text>", "<TEXT>").replace("</text>", "</Text>").replace("<question>", "<Question>")
    assert len(parse(text).questions) == 1


def test_render_refuses_text_that_would_break_the_format():
    q = Question(id="t", subject="s", text="What does </options> do?", options=["a", "b"], answer="A")
    with pytest.raises(ValueError, match="format tag"):
        render_question_block(q)
    q = Question(id="t", subject="s", text="Q", options=["a\nB) fake", "b"], answer="A")
    with pytest.raises(ValueError, match="option label"):
        render_question_block(q)


def test_normalised_text_ignores_case_spacing_and_punctuation():
    assert normalise_text("What  is\n2+2?") == normalise_text("what is (2+2)") == "what is 2+2"
    assert normalise_text("What is 2+2?") != normalise_text("What is 2-2?")
    assert question_id("g", "What is 2+2?") == question_id("g", "  WHAT is 2+2 ")
    assert question_id("g", "What is 2+2?") != question_id("g", "What is 2+3?")
