"""Normalization and quality-filter steps: every rule on hand-written English and Chinese text."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from zslab.corpus.core import (
    STEPS,
    DocumentStep,
    Drop,
    Step,
    StepStats,
    make_step,
    step_catalog,
    texts,
)
from zslab.corpus.filters import (
    CJK_PUNCTUATION,
    C4Lines,
    ChineseQuality,
    GopherQuality,
    GopherRepetition,
    LengthFilter,
    char_repetition_ratio,
    cjk_fraction,
    special_char_ratio,
    split_units,
)
from zslab.corpus.normalize import (
    LanguageFilter,
    Normalize,
    TraditionalToSimplified,
    _language_model,
)

EN_GOOD = (
    "The history of the printing press is closely tied to the spread of literacy in Europe. "
    "Before movable type, books were copied by hand, which made them expensive and rare. "
    "Johannes Gutenberg combined several existing technologies, including the screw press and "
    "oil-based ink, to produce books faster than any scribe could.\n"
    "\n"
    "Within fifty years of his first Bible, printing shops had opened in more than two hundred "
    "cities. Scholars could now compare identical copies of a text, and errors that had crept "
    "in through copying became easier to find and correct. Historians still debate how quickly "
    "ordinary people gained access to printed material, but few doubt that the change was "
    "profound."
)

ZH_NEWS = (
    "新华社北京3月5日电 十四届全国人大二次会议今天上午在人民大会堂开幕，国务院总理作政府工作报告。"
    "报告指出，过去一年我国经济总体回升向好，就业和物价总体稳定。"
    "今年发展主要预期目标是：国内生产总值增长百分之五左右；城镇新增就业一千二百万人以上。\n"
    "报告强调，要坚持稳中求进工作总基调，更好统筹发展和安全。"
    "代表们认为，这份报告实事求是，目标明确，措施有力，是一份凝心聚力的好报告。"
)


def run(step: Step, text: str) -> str | Drop:
    assert isinstance(step, DocumentStep)
    return step.apply(text, step.new_stats())


def reason(step: Step, text: str) -> str | None:
    result = run(step, text)
    return result.reason if isinstance(result, Drop) else None


# --- registration and parameters ------------------------------------------------------------


def test_every_step_registers_under_its_name() -> None:
    names = {"normalize", "t2s", "language", "length", "gopher_quality", "gopher_repetition"}
    names |= {"c4_lines", "zh_quality"}
    assert names <= {entry["name"] for entry in step_catalog()}
    assert STEPS["gopher_quality"] is GopherQuality


def test_make_step_passes_parameters() -> None:
    step = make_step({"gopher_quality": {"min_doc_words": 5, "min_stop_words": 1}})
    assert isinstance(step, GopherQuality)
    assert reason(step, "The cat sat quietly on a warm mat.") is None
    assert reason(GopherQuality(), "The cat sat quietly on a warm mat.") == (
        "gopher_quality:too_few_words"
    )


def test_make_step_rejects_an_unknown_parameter_by_name() -> None:
    with pytest.raises(ValueError, match="min_doc_wordz"):
        make_step({"gopher_quality": {"min_doc_wordz": 5}})


def test_make_step_rejects_an_out_of_range_fraction() -> None:
    with pytest.raises(ValueError, match="cjk_threshold"):
        make_step({"gopher_repetition": {"cjk_threshold": 1.5}})


def test_config_round_trips_through_plain_data() -> None:
    step = GopherRepetition(top_n_grams=((2, 0.25),), cjk_ngram_scale=3)
    config = step.to_config()
    assert config["gopher_repetition"]["top_n_grams"] == [[2, 0.25]]
    assert make_step(config) == step


# --- normalize -------------------------------------------------------------------------------


def test_normalize_makes_full_width_ascii_half_width_and_keeps_chinese_marks() -> None:
    assert run(Normalize(), "ＡＢＣ１２３\u3000测试。，好！") == "ABC123 测试。，好！"


def test_normalize_keeps_cjk_brackets_quotes_and_ellipsis() -> None:
    text = "他说：“《红楼梦》（曹雪芹著）真好……”「是吗？」"
    assert run(Normalize(), text) == text


def test_normalize_turns_chinese_marks_into_ascii_when_asked() -> None:
    step = make_step({"normalize": {"keep_cjk_punctuation": False}})
    assert run(step, "你好，世界！（一）……") == "你好,世界!(一)......"


def test_normalize_without_nfkc_still_maps_full_width_and_ideographic_space() -> None:
    step = Normalize(nfkc=False)
    assert run(step, "ＡＢＣ\u3000ｘｙｚ，ﬁ") == "ABC xyz，ﬁ"
    assert run(Normalize(), "ﬁ") == "fi"


def test_normalize_removes_control_and_format_characters() -> None:
    assert run(Normalize(), "a\x00b\u200bc\ufeffd\u00ade\x1bf") == "abcdef"


def test_normalize_keeps_a_lone_tab_and_collapses_space_runs() -> None:
    assert run(Normalize(), "a\tb   c \t d") == "a\tb c d"


def test_normalize_strips_lines_and_collapses_blank_lines() -> None:
    text = "  first line  \r\nsecond\rthird\u2028fourth\n\n\n\n\nfifth  \n\n"
    assert run(Normalize(), text) == "first line\nsecond\nthird\nfourth\n\nfifth"


def test_normalize_returns_the_same_object_for_normal_text() -> None:
    assert run(Normalize(), ZH_NEWS) is ZH_NEWS


# --- t2s -------------------------------------------------------------------------------------


def test_t2s_converts_traditional_to_simplified() -> None:
    assert run(TraditionalToSimplified(), "漢語的頭髮很乾燥") == "汉语的头发很干燥"


def test_t2s_leaves_text_without_han_untouched() -> None:
    text = "Plain English, no Han characters."
    assert run(TraditionalToSimplified(), text) is text


def test_t2s_rejects_an_unknown_config() -> None:
    with pytest.raises(ValueError, match="unknown OpenCC config 'x2y'"):
        make_step({"t2s": {"config": "x2y"}})


def test_t2s_counts_modified_documents() -> None:
    stats = StepStats("t2s")
    TraditionalToSimplified().process(
        texts([{"id": 1, "text": "漢語"}, {"id": 2, "text": "汉语"}]), stats
    )
    assert (stats.kept, stats.modified) == (2, 1)


# --- language --------------------------------------------------------------------------------


def test_language_keeps_chinese_and_english_and_counts_them() -> None:
    stats = StepStats("language")
    step = LanguageFilter()
    for text in ("今天上午，市政府召开新闻发布会，介绍了今年城市建设的主要进展。", EN_GOOD):
        assert step.apply(text, stats) == text
    assert stats.counters == {"lang:zh": 1, "lang:en": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Le gouvernement a annoncé hier de nouvelles mesures pour soutenir les agriculteurs.",
            "language:fr",
        ),
        ("東京は日本の首都であり、世界で最も人口の多い都市の一つです。", "language:ja"),
        ("3.14 2.71 1.41 42", "language:low_score"),
    ],
)
def test_language_drops_other_and_unidentifiable_languages(text: str, expected: str) -> None:
    assert reason(LanguageFilter(), text) == expected


def test_language_scores_are_langids_own() -> None:
    from langid import langid

    reference = langid.LanguageIdentifier.from_modelstring(langid.model, norm_probs=True)
    samples = [EN_GOOD, ZH_NEWS, "Le gouvernement a annoncé hier.", "3.14 2.71", "", "東京は首都"]
    for text in samples:
        assert _language_model().classify(text) == reference.classify(text)


def test_language_keeps_what_the_languages_parameter_names() -> None:
    step = make_step({"language": {"languages": ["fr"]}})
    assert reason(step, "Le gouvernement a annoncé hier de nouvelles mesures.") is None
    assert reason(step, EN_GOOD) == "language:en"


def test_language_identifies_on_the_first_sample_chars() -> None:
    text = "Le gouvernement a annoncé hier de nouvelles mesures. " + EN_GOOD * 3
    assert reason(LanguageFilter(sample_chars=50), text) == "language:fr"
    assert reason(LanguageFilter(), text) is None


# --- length ----------------------------------------------------------------------------------


def test_length_drops_too_short_and_too_long() -> None:
    step = LengthFilter(min_chars=10, max_chars=20)
    assert reason(step, "short") == "length:too_short"
    assert reason(step, "x" * 21) == "length:too_long"
    assert reason(step, "just right") is None


def test_length_min_words_applies_to_english_but_not_chinese() -> None:
    step = make_step({"length": {"min_words": 5}})
    assert reason(step, "four words right here") == "length:too_few_words"
    assert reason(step, "今天天气很好我们去公园") is None


# --- gopher quality --------------------------------------------------------------------------


def test_gopher_quality_keeps_a_good_english_paragraph() -> None:
    assert run(GopherQuality(), EN_GOOD) == EN_GOOD


def test_gopher_quality_drops_a_bullet_list() -> None:
    items = [
        "Fresh apples and pears from the local farm",
        "Whole grain bread baked in the morning",
        "A dozen eggs from free range chickens",
        "Cheddar cheese aged for twelve months",
        "Organic carrots with their green tops",
        "Two bottles of olive oil for cooking",
        "Ground coffee beans of a dark roast",
        "Tomatoes and basil for the summer salad",
        "A jar of honey from the hills nearby",
        "Yogurt with the live cultures",
    ]
    assert reason(GopherQuality(), "\n".join(f"• {item}" for item in items)) == (
        "gopher_quality:bullet_lines"
    )
    assert reason(GopherQuality(), "\n".join(items)) is None


def test_gopher_quality_drops_short_and_long_documents() -> None:
    assert reason(GopherQuality(), "Too short to be a document.") == "gopher_quality:too_few_words"
    assert reason(GopherQuality(max_doc_words=50), EN_GOOD) == "gopher_quality:too_many_words"


def test_gopher_quality_drops_extreme_mean_word_length() -> None:
    tiny = " ".join(["a b c to of it"] * 12)
    huge = " ".join(["the internationalization of telecommunications"] * 15)
    assert reason(GopherQuality(), tiny) == "gopher_quality:mean_word_length"
    assert reason(GopherQuality(), huge) == "gopher_quality:mean_word_length"


def test_gopher_quality_drops_hashtag_and_ellipsis_spam() -> None:
    assert reason(GopherQuality(), EN_GOOD + " #news" * 20) == "gopher_quality:hash_ratio"
    assert reason(GopherQuality(), EN_GOOD + " wait..." * 20) == "gopher_quality:ellipsis_ratio"


def test_gopher_quality_drops_text_whose_lines_trail_off() -> None:
    sentences = EN_GOOD.replace("\n", " ").split(". ")
    text = "\n".join(sentence.rstrip(".") + "..." for sentence in sentences)
    assert reason(GopherQuality(), text) == "gopher_quality:ellipsis_lines"


def test_gopher_quality_drops_text_that_is_mostly_numbers() -> None:
    table = " ".join(str(1000 + 37 * i) for i in range(60))
    assert reason(GopherQuality(), f"The table of the results: {table}") == (
        "gopher_quality:alpha_words"
    )


def test_gopher_quality_drops_text_without_stop_words() -> None:
    listing = (
        "Premium leather wallet, black, genuine cowhide, slim design, twelve card slots, "
        "coin pocket, gift box included. Stainless steel water bottle, insulated, keeps drinks "
        "cold for hours, leak proof lid, dishwasher safe. Wireless earbuds, noise cancelling, "
        "charging case, thirty hours battery, sweat resistant, touch controls, bluetooth five. "
        "Cotton bath towels, set of six, quick drying, soft, machine washable."
    )
    assert reason(GopherQuality(min_stop_words=2), listing) == "gopher_quality:stop_words"
    assert reason(GopherQuality(min_stop_words=1), listing) is None  # "of" appears once


def test_gopher_quality_counts_stop_words_case_insensitively_as_whole_words() -> None:
    step = GopherQuality(min_doc_words=1)
    assert reason(step, "The weather, Then thereafter.") == "gopher_quality:stop_words"
    assert reason(step, "THE weather AND the sky.") is None


def test_gopher_quality_keeps_a_short_chinese_news_paragraph() -> None:
    stats = StepStats("gopher_quality")
    assert GopherQuality().apply(ZH_NEWS, stats) == ZH_NEWS
    assert stats.counters["gopher_quality:cjk_docs"] == 1


def test_gopher_quality_counts_chinese_characters_not_words() -> None:
    short = "今天天气很好，我们在公园里散步。"
    assert reason(GopherQuality(), short) == "gopher_quality:too_few_words"
    assert reason(GopherQuality(cjk_min_chars=10), short) is None


def test_gopher_quality_needs_distinct_chinese_stop_words() -> None:
    names = (
        "苹果平板电脑 华为折叠屏手机 小米扫地机器人 联想游戏笔记本 海尔变频洗衣机 格力节能空调 "
        "美的电饭煲 美的空气炸锅 戴森吹风机 索尼降噪耳机 佳能微单相机 大疆无人机 "
        "九阳豆浆机 飞利浦电动牙刷 "
        "松下电烤箱 西门子洗碗机 博世电钻 三星显示器 罗技无线鼠标 任天堂游戏机 小熊酸奶机 "
        "苏泊尔炒锅 象印保温杯 膳魔师焖烧罐"
    )
    assert names.count("的") == 2  # 美的 twice: one stop character, however often, is not enough
    assert reason(GopherQuality(), names) == "gopher_quality:stop_words"
    assert reason(GopherQuality(cjk_min_stop_words=1), names) is None


def test_gopher_quality_drops_garbled_chinese_full_of_symbols() -> None:
    garbled = " ".join(f"数据{i % 10}号 ★ → ※" for i in range(40))
    assert cjk_fraction(garbled) > 0.3
    assert reason(GopherQuality(), garbled) == "gopher_quality:alpha_words"


def test_gopher_quality_applies_word_rules_to_chinese_when_the_variant_is_off() -> None:
    # Every character a "word" of length 1: far below Gopher's mean word length of 3.
    assert reason(GopherQuality(cjk_threshold=None), ZH_NEWS) == "gopher_quality:mean_word_length"


# --- gopher repetition -----------------------------------------------------------------------


def test_gopher_repetition_keeps_ordinary_text() -> None:
    assert run(GopherRepetition(), EN_GOOD) == EN_GOOD
    assert run(GopherRepetition(), ZH_NEWS) == ZH_NEWS


def test_gopher_repetition_ignores_an_ngram_seen_once() -> None:
    # "Hello there" is 11 of 18 characters; it is not repeated, so it is not repetition.
    assert reason(GopherRepetition(), "Hello there world.") is None


def test_gopher_repetition_counts_overlapping_repeats_once() -> None:
    # Word 2-grams of "a b a b a b": ab ba ab ba ab. datatrove's scan counts the repeat at
    # word 2 ("ab", 2 characters), jumps to word 4, counts "ab" again: 4 of 11 characters.
    # Counting every repeat (ab, ba, ab) would make it 6 of 11.
    kept = make_step({"gopher_repetition": {"top_n_grams": [], "dup_n_grams": [[2, 0.4]]}})
    dropped = make_step({"gopher_repetition": {"top_n_grams": [], "dup_n_grams": [[2, 0.3]]}})
    assert reason(kept, "a b a b a b") is None
    assert reason(dropped, "a b a b a b") == "gopher_repetition:dup_2_gram"


def test_gopher_repetition_drops_repeated_lines() -> None:
    text = "\n".join(
        ["Welcome to our store.", "Buy now and save big on shoes today."] * 3
        + ["Free delivery on all orders over fifty dollars."]
    )
    assert reason(GopherRepetition(), text) == "gopher_repetition:dup_line_frac"


def test_gopher_repetition_drops_repeated_paragraphs() -> None:
    text = "\n\n".join(["A paragraph about the weather today.", EN_GOOD] * 2)
    assert reason(GopherRepetition(), text) == "gopher_repetition:dup_para_frac"


def test_gopher_repetition_drops_a_dominant_word_pair() -> None:
    text = " ".join(f"item{i} click here" for i in range(15))
    assert reason(GopherRepetition(), text) == "gopher_repetition:top_2_gram"


def test_gopher_repetition_drops_a_passage_repeated_inside_a_line() -> None:
    passage = "a sudden storm closed every road leading north out of the valley that night "
    text = EN_GOOD.replace("\n\n", " ") + " " + passage * 4
    assert reason(GopherRepetition(), text) == "gopher_repetition:dup_5_gram"


def test_gopher_repetition_finds_repeats_in_chinese_without_spaces() -> None:
    text = "我们要好好学习天天向上争取更大的进步。" * 8
    assert reason(GopherRepetition(), text) == "gopher_repetition:top_2_gram"


def test_gopher_repetition_scales_chinese_ngrams_to_words() -> None:
    # Terms of 4–5 characters recur as words do in any article on one subject. Counted as
    # character 5-grams their repeats are over 15 % of the text; as character 10-grams (word
    # 5-grams at 2 characters a word) nothing repeats.
    text = (
        "今年政府工作报告提出，要大力推进现代化产业体系建设，加快发展新质生产力。"
        "专家认为，发展新质生产力的关键在于科技创新，而科技创新又离不开人才和资金的支持。"
        "各地纷纷出台政策，把推动高质量发展放在突出位置。例如，某省提出以高质量发展为主题，"
        "加快构建现代化产业体系；某市则设立专项基金，支持企业开展科技创新活动。"
        "业内人士指出，高质量发展不是一句口号，需要在新质生产力培育、现代化产业体系完善等方面"
        "久久为功。只有这样，才能实现高质量发展的目标，让新质生产力真正成为经济增长的新引擎。"
        "各界认为高质量发展和新质生产力密不可分。"
    )
    assert reason(GopherRepetition(), text) is None
    assert reason(GopherRepetition(cjk_ngram_scale=1), text) == "gopher_repetition:dup_5_gram"


# --- C4 lines --------------------------------------------------------------------------------


def test_c4_removes_a_javascript_notice_and_keeps_the_rest() -> None:
    stats = StepStats("c4_lines")
    text = "Please enable JavaScript to view the comments.\n" + EN_GOOD
    assert C4Lines().apply(text, stats) == EN_GOOD
    assert stats.counters["c4_lines:removed:javascript"] == 1
    assert stats.counters["c4_lines:removed_lines"] == 1


def test_c4_removes_lines_without_terminal_punctuation_or_with_few_words() -> None:
    stats = StepStats("c4_lines")
    text = "Home\nShare this article\nThank you.\nThe storm closed every road.\nRead more..."
    assert C4Lines().apply(text, stats) == "The storm closed every road."
    assert stats.counters["c4_lines:removed:no_terminal_punct"] == 3
    assert stats.counters["c4_lines:removed:too_few_words"] == 1


def test_c4_removes_cookie_policy_lines() -> None:
    text = "This website uses cookies to improve your experience.\nThe storm closed every road."
    assert run(C4Lines(), text) == "The storm closed every road."


def test_c4_drops_lorem_ipsum_and_curly_brackets() -> None:
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit."
    assert reason(C4Lines(), EN_GOOD + "\n" + lorem) == "c4_lines:lorem_ipsum"
    assert reason(C4Lines(), EN_GOOD + "\nvar x = {a: 1, b: 2}.") == "c4_lines:curly_bracket"
    assert reason(C4Lines(filter_curly_bracket=False), EN_GOOD + "\nvar x = {a: 1, b: 2}.") is None


def test_c4_drops_pages_with_bad_words_as_whole_words() -> None:
    step = make_step({"c4_lines": {"bad_words": ["darn", "坏词"]}})
    assert reason(step, "Well, DARN it all to pieces.") == "c4_lines:bad_words"
    assert reason(step, "She was darning the old socks.") is None
    assert reason(step, "这里有一个坏词出现在句子中间。") == "c4_lines:bad_words"


def test_c4_drops_a_page_with_no_line_left() -> None:
    assert reason(C4Lines(), "Home\nAbout us\nContact") == "c4_lines:too_few_lines"
    assert reason(C4Lines(min_lines=2), "The storm closed every road.") == "c4_lines:too_few_lines"


def test_c4_removes_citation_marks() -> None:
    assert run(C4Lines(), "The sky is blue on a clear day.[1][citation needed]") == (
        "The sky is blue on a clear day."
    )


def test_c4_keeps_chinese_sentences_and_removes_chinese_menu_lines() -> None:
    text = "返回首页\n点击查看。\n今天天气很好。\n他说：“明天见。”\n故事还没有结束……\n联系我们"
    assert run(C4Lines(), text) == "今天天气很好。\n他说：“明天见。”\n故事还没有结束……"


def test_c4_keeps_paragraph_breaks_between_kept_lines() -> None:
    assert run(C4Lines(), EN_GOOD) == EN_GOOD


# --- zh quality ------------------------------------------------------------------------------


def test_special_chars_ignore_chinese_punctuation() -> None:
    text = "“你好！”她说，“今天（星期六）去《人民日报》社参观，好吗？”——当然！……"
    assert sum(c in CJK_PUNCTUATION for c in text) / len(text) > 0.25
    assert special_char_ratio(text) == 0.0
    assert reason(ChineseQuality(), text) is None


def test_special_chars_drop_symbol_noise() -> None:
    text = "价格便宜@#$%^&*!!!###$$$~~~|||"
    assert reason(ChineseQuality(), text) == "zh_quality:special_chars"


def test_zh_quality_judges_only_mostly_chinese_documents_unless_told_otherwise() -> None:
    code = "for (i = 0; i < n; i++) { total += a[i] * 2; } // sum: O(n) 计算"

    assert reason(ChineseQuality(), code) is None
    assert reason(ChineseQuality(cjk_threshold=None), code) == "zh_quality:special_chars"


def test_special_chars_do_not_count_the_character_yi() -> None:
    assert special_char_ratio("一上士") == 0.0


def test_char_repetition_ratio_follows_data_juicer() -> None:
    # 3-grams of "abcabcabc": abc ×3, bca ×2, cab ×2 — ⌊√3⌋ = 1 top n-gram: 3 of 7.
    assert char_repetition_ratio("abcabcabc", 3) == pytest.approx(3 / 7)
    assert char_repetition_ratio("abcdefg", 3) == 0.0
    assert char_repetition_ratio("ab", 3) == 0.0


def test_zh_quality_drops_repetitive_chinese_and_keeps_news() -> None:
    padded_review = "质量不错，物流很快，包装也很好。" + "好评" * 100
    assert reason(ChineseQuality(), "哈" * 200) == "zh_quality:char_repetition"
    assert reason(ChineseQuality(), padded_review) == "zh_quality:char_repetition"
    assert run(ChineseQuality(), ZH_NEWS) == ZH_NEWS


# --- units and the CJK test ------------------------------------------------------------------


def test_split_units_makes_each_cjk_character_a_unit() -> None:
    assert split_units("我用Python写代码。 It works.") == [
        "我",
        "用",
        "Python",
        "写",
        "代",
        "码。",
        "It",
        "works.",
    ]


def test_cjk_fraction_counts_non_space_characters() -> None:
    assert cjk_fraction("ab 中文") == 0.5
    assert cjk_fraction("no cjk here") == 0.0


# --- shipping steps to workers -------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        "normalize",
        "t2s",
        "language",
        "length",
        "gopher_quality",
        "gopher_repetition",
        {"c4_lines": {"bad_words": ["darn"]}},
        "zh_quality",
    ],
)
def test_steps_survive_pickling_with_their_derived_state(config: str | dict[str, Any]) -> None:
    # Dask ships steps to workers by pickle: compiled patterns and sets made in
    # __post_init__ must travel and judge the same.
    step = make_step(config)
    copy = pickle.loads(pickle.dumps(step))
    text = "Well, darn it all.\n" + EN_GOOD + " #news" * 20
    assert copy == step
    assert run(copy, text) == run(step, text)


# --- process on a batch ----------------------------------------------------------------------


def test_process_keeps_and_drops_rows_with_reasons() -> None:
    table = texts(
        [
            {"id": "en", "text": EN_GOOD},
            {"id": "zh", "text": ZH_NEWS},
            {"id": "short", "text": "Too short."},
            {"id": "bullets", "text": "\n".join(["- buy the shoes and the socks now"] * 10)},
        ]
    )
    stats = GopherQuality().new_stats()
    out = GopherQuality().process(table, stats)
    assert out.column("id").to_pylist() == ["en", "zh"]
    assert (stats.seen, stats.kept) == (4, 2)
    assert stats.dropped == {
        "gopher_quality:too_few_words": 1,
        "gopher_quality:bullet_lines": 1,
    }


def test_process_writes_normalized_text_and_counts_modified() -> None:
    table = texts([{"id": "a", "text": "ＡＢＣ\u3000def"}, {"id": "b", "text": "plain"}])
    stats = Normalize().new_stats()
    out = Normalize().process(table, stats)
    assert out.column("text").to_pylist() == ["ABC def", "plain"]
    assert stats.modified == 1


def test_process_writes_c4_line_removals() -> None:
    table = texts(
        [
            {
                "id": "a",
                "text": "Please enable JavaScript to continue.\nThe storm closed every road.",
            },
            {"id": "b", "text": "Lorem ipsum dolor sit amet, consectetur adipiscing elit."},
        ]
    )
    stats = C4Lines().new_stats()
    out = C4Lines().process(table, stats)
    assert out.column("text").to_pylist() == ["The storm closed every road."]
    assert stats.dropped == {"c4_lines:lorem_ipsum": 1}
    assert stats.counters["c4_lines:removed:javascript"] == 1
