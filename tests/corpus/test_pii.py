"""PII redaction (zslab.corpus.pii): validators, detectors per type, the pii_redact step."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zslab.corpus.core import StepStats, make_step, texts
from zslab.corpus.pii import (
    PiiMatch,
    PiiRedact,
    find_pii,
    is_valid_resident_id,
    luhn_ok,
    redact_pii,
)

# --- independent helpers: check characters computed another way than the module does -------------


def id18(body: str) -> str:
    """``body`` (17 digits) with its ISO 7064 MOD 11-2 check character appended.

    The weights are 2^(17-i) mod 11 and the check value is (12 - sum mod 11) mod 11, 10 being
    X -- the standard's own formulation, not the module's lookup table.
    """
    assert len(body) == 17 and body.isdigit()
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    value = (12 - total % 11) % 11
    return body + ("X" if value == 10 else str(value))


def luhn_complete(prefix: str) -> str:
    """``prefix`` with the digit appended that makes it pass Luhn."""
    for last in "0123456789":
        number = prefix + last
        doubled = "".join(str(int(d) * 2) if i % 2 else d for i, d in enumerate(reversed(number)))
        if sum(int(c) for c in doubled) % 10 == 0:
            return number
    raise AssertionError("unreachable")


def luhn_break(number: str) -> str:
    """``number`` with its last digit changed, so it fails Luhn."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


VALID_ID = id18("11010519900307851")  # Beijing Dongcheng, born 1990-03-07
ID_WITH_X = "11010519491231002X"  # the GB 11643-1999 example
LEGACY_ID = "110105491231002"  # 15 digits, born 1949-12-31
UNIONPAY = luhn_complete("622202123456789")  # 16 digits
VISA = "4111111111111111"  # Luhn-valid, not UnionPay


def redacted(text: str) -> str:
    return redact_pii(text)[0]


# --- resident ID validator -----------------------------------------------------------------------


def test_standard_example_with_x_check_is_valid_in_either_case() -> None:
    assert is_valid_resident_id(ID_WITH_X)
    assert is_valid_resident_id(ID_WITH_X.lower())


@pytest.mark.parametrize(
    "body", ["11010519900307851", "31010420000229123", "44030519851111000", "65010219000101999"]
)
def test_ids_with_computed_check_character_are_valid(body: str) -> None:
    assert is_valid_resident_id(id18(body))


@pytest.mark.parametrize("wrong", [c for c in "0123456789X" if c != VALID_ID[-1]])
def test_id_with_any_other_check_character_is_invalid(wrong: str) -> None:
    assert not is_valid_resident_id(VALID_ID[:17] + wrong)


@pytest.mark.parametrize("birth", ["19990230", "20011301", "19900000", "20230431"])
def test_id_with_impossible_birth_date_is_invalid_despite_check_character(birth: str) -> None:
    assert not is_valid_resident_id(id18(f"110105{birth}123"))


def test_id_born_before_1900_is_invalid_despite_check_character() -> None:
    # The standard's other example: a correct check digit, but born 1880.
    assert id18("44052418800101001") == "440524188001010014"
    assert not is_valid_resident_id("440524188001010014")


def test_id_born_after_today_is_invalid() -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert not is_valid_resident_id(id18(f"110105{tomorrow:%Y%m%d}123"))


@pytest.mark.parametrize("province", ["00", "19", "24", "90", "99"])
def test_id_with_unknown_province_is_invalid(province: str) -> None:
    assert not is_valid_resident_id(id18(f"{province}010519900307851"))


def test_legacy_15_digit_id_with_real_date_is_valid() -> None:
    assert is_valid_resident_id(LEGACY_ID)


def test_legacy_15_digit_id_with_impossible_date_is_invalid() -> None:
    assert not is_valid_resident_id("110105990230002")  # 1999-02-30


@pytest.mark.parametrize("text", ["", "X", VALID_ID[:17], VALID_ID + "1", f" {VALID_ID}"])
def test_id_validator_rejects_wrong_lengths_and_padding(text: str) -> None:
    assert not is_valid_resident_id(text)


# --- Luhn ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [VISA, "5555555555554444", "6200000000000005", "79927398713"])
def test_luhn_accepts_known_valid_numbers(number: str) -> None:
    assert luhn_ok(number)


@pytest.mark.parametrize("number", [luhn_break(VISA), "79927398710", "1234567812345678"])
def test_luhn_rejects_numbers_with_a_wrong_digit(number: str) -> None:
    assert not luhn_ok(number)


@pytest.mark.parametrize("text", ["", "4111 1111 1111 1111", "4111-1111-1111-1111", "41a1"])
def test_luhn_rejects_empty_and_non_digit_strings(text: str) -> None:
    assert not luhn_ok(text)


# --- resident IDs in text ------------------------------------------------------------------------


def test_id_in_chinese_sentence_is_redacted_keeping_punctuation() -> None:
    assert redacted(f"身份证号：{VALID_ID}。") == "身份证号：<ID_CARD>。"


def test_id_with_lowercase_x_in_text_is_redacted() -> None:
    assert redacted(f"证件{ID_WITH_X.lower()}号") == "证件<ID_CARD>号"


def test_id_with_wrong_check_character_in_text_is_left_alone() -> None:
    text = f"身份证号：{VALID_ID[:17]}{(int(VALID_ID[17]) + 1) % 10}。"
    assert redacted(text) == text


@pytest.mark.parametrize(
    "text", [f"订单9{VALID_ID}", f"订单{VALID_ID}0", f"1{LEGACY_ID}", f"{ID_WITH_X}X"]
)
def test_id_inside_longer_digit_run_is_not_matched(text: str) -> None:
    assert find_pii(text, ["id_card"]) == []


def test_legacy_id_in_text_is_redacted() -> None:
    assert redacted(f"旧身份证{LEGACY_ID}已作废") == "旧身份证<ID_CARD>已作废"


def test_valid_id_that_also_passes_luhn_counts_as_id_card() -> None:
    # A Gansu (62) ID passing Luhn would be a UnionPay card too; IDs claim digits first.
    gansu = next(
        number
        for seq in range(1000)
        if (number := id18(f"62010219900307{seq:03d}"))[-1] != "X" and luhn_ok(number)
    )
    assert [m.type for m in find_pii(f"号码{gansu}")] == ["id_card"]


# --- mobiles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "8613812345678",
        "0086 19912345678",
    ],
)
def test_mobile_with_prefix_and_separators_is_redacted_whole(number: str) -> None:
    assert redacted(f"联系电话{number}，谢谢") == "联系电话<MOBILE>，谢谢"


@pytest.mark.parametrize("text", ["编号213812345678", "138123456789", "单号 2023138123456789"])
def test_mobile_inside_longer_number_is_not_matched(text: str) -> None:
    assert find_pii(text, ["mobile"]) == []


@pytest.mark.parametrize("number", ["12812345678", "138 1234-5678", "1381234 5678"])
def test_mobile_with_bad_prefix_or_mixed_grouping_is_not_matched(number: str) -> None:
    assert find_pii(f"电话{number}", ["mobile"]) == []


# --- bank cards ----------------------------------------------------------------------------------


def test_unionpay_card_passing_luhn_is_redacted_without_context() -> None:
    assert redacted(f"转到{UNIONPAY}即可") == "转到<BANK_CARD>即可"


@pytest.mark.parametrize("separator", [" ", "-"])
def test_grouped_unionpay_card_is_redacted(separator: str) -> None:
    grouped = separator.join(UNIONPAY[i : i + 4] for i in range(0, 16, 4))
    assert redacted(f"请汇款至{grouped}。") == "请汇款至<BANK_CARD>。"


def test_19_digit_unionpay_card_grouped_4_4_4_4_3_is_redacted() -> None:
    card = luhn_complete("621700123456789012")
    grouped = " ".join([card[0:4], card[4:8], card[8:12], card[12:16], card[16:]])
    assert [m.value for m in find_pii(grouped)] == [grouped]


def test_unionpay_number_failing_luhn_is_left_alone() -> None:
    text = f"卡号{luhn_break(UNIONPAY)}"
    assert redacted(text) == text


def test_luhn_valid_non_unionpay_number_without_context_is_left_alone() -> None:
    text = f"订单编号 {VISA} 已发货"
    assert redacted(text) == text


@pytest.mark.parametrize(
    "text",
    [
        f"信用卡 {VISA}",
        f"银行卡号：{VISA}",
        f"借记卡{VISA}，开户行：招商银行",
        f"{VISA}（储蓄卡）",
        f"my credit card is {VISA}",
        f"Account no. {VISA}",
    ],
)
def test_luhn_valid_non_unionpay_number_near_context_word_is_redacted(text: str) -> None:
    assert "<BANK_CARD>" in redacted(text)
    assert VISA not in redacted(text)


def test_context_word_more_than_20_characters_away_does_not_count() -> None:
    text = f"卡号：请在下单后的二十四小时之内完成付款，编号{VISA}"
    assert redacted(text) == text


def test_context_word_inside_another_english_word_does_not_count() -> None:
    text = f"discard {VISA}"
    assert redacted(text) == text


def test_grouped_card_continued_by_more_digit_groups_is_not_matched() -> None:
    grouped = " ".join(UNIONPAY[i : i + 4] for i in range(0, 16, 4))
    assert find_pii(f"{grouped} 1234 5678", ["bank_card"]) == []
    assert find_pii(f"1234 {grouped}", ["bank_card"]) == []


# --- e-mail --------------------------------------------------------------------------------------


def test_email_keeps_trailing_chinese_full_stop() -> None:
    assert redacted("联系我：zhang.san@example.com。") == "联系我：<EMAIL>。"


@pytest.mark.parametrize("after", ["，", "）", ".", ",", "!", "联系"])
def test_email_stops_before_following_punctuation_or_chinese(after: str) -> None:
    assert redacted(f"邮箱li_si+news@mail.example.com.cn{after}") == f"邮箱<EMAIL>{after}"


def test_email_with_phone_number_local_part_is_one_email() -> None:
    assert redact_pii("QQ邮箱13812345678@qq.com") == ("QQ邮箱<EMAIL>", {"email": 1})


@pytest.mark.parametrize("before", [".", "..", "-", "--"])
def test_email_does_not_start_with_a_dot_or_dash(before: str) -> None:
    assert redacted(f"请联系{before}admin@example.com") == f"请联系{before}<EMAIL>"


@pytest.mark.parametrize("text", ["user@localhost", "a@b.c", "@example.com", "邮件 a@.com"])
def test_address_without_proper_domain_is_not_an_email(text: str) -> None:
    assert find_pii(text, ["email"]) == []


# --- IP addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["192.168.1.1", "8.8.8.8", "255.255.255.255", "10.0.0.1"])
def test_ipv4_address_is_redacted(address: str) -> None:
    assert redacted(f"登录地址{address}。") == "登录地址<IP>。"


@pytest.mark.parametrize(
    "text", ["版本 1.2.3.4.5", "v1.2.3.4", "升级到2.0.1", "256.1.1.1", "1.2.3.999", "01.2.3.4"]
)
def test_version_strings_and_out_of_range_octets_are_not_ipv4(text: str) -> None:
    assert find_pii(text) == []


def test_ipv4_with_port_keeps_the_port() -> None:
    assert redacted("访问 203.0.113.7:8080/") == "访问 <IP>:8080/"


@pytest.mark.parametrize(
    "address",
    [
        "2001:db8::8a2e:370:7334",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "fe80::1",
        "240e:3a1:4c8b::2",
        "::ffff:192.0.2.1",
    ],
)
def test_ipv6_full_and_compressed_forms_are_redacted(address: str) -> None:
    assert redacted(f"IPv6 地址：{address}。") == "IPv6 地址：<IP>。"


def test_ipv6_at_end_of_sentence_keeps_the_full_stop() -> None:
    assert redacted("Connect to 2001:db8::1.") == "Connect to <IP>."


@pytest.mark.parametrize(
    "text",
    ["std::vector<int>", "x[1::2]", "Face::add()", "at 12:30:45", "::1", "00:1A:2B:3C:4D:5E"],
)
def test_code_times_and_mac_addresses_are_not_ipv6(text: str) -> None:
    assert find_pii(text) == []


def test_ipv4_and_ipv6_share_the_ip_placeholder_but_count_separately() -> None:
    text, counts = redact_pii("A 1.2.3.4 B 2001:db8::1 C 5.6.7.8")
    assert text == "A <IP> B <IP> C <IP>"
    assert counts == {"ipv4": 2, "ipv6": 1}


# --- find_pii and redact_pii ---------------------------------------------------------------------


def test_find_pii_reports_type_span_and_value_in_text_order() -> None:
    text = f"邮箱a@example.com，手机13812345678，身份证{VALID_ID}"
    matches = find_pii(text)
    assert matches == [
        PiiMatch("email", 2, 15, "a@example.com"),
        PiiMatch("mobile", 18, 29, "13812345678"),
        PiiMatch("id_card", 33, 51, VALID_ID),
    ]
    assert all(text[m.start : m.end] == m.value for m in matches)


def test_find_pii_only_reports_the_requested_types() -> None:
    text = f"邮箱a@example.com，手机13812345678，身份证{VALID_ID}"
    assert [m.type for m in find_pii(text, types=["mobile"])] == ["mobile"]


def test_find_pii_rejects_an_unknown_type_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown PII type.*'phone'.*id_card"):
        find_pii("13812345678", types=["phone"])


def test_redaction_reaches_a_card_that_an_earlier_redaction_brought_near_its_context() -> None:
    # 卡号 is 22 characters before the card, but after the ID becomes <ID_CARD> it is 13.
    text = f"卡号 {VALID_ID} {VISA}"
    assert [m.type for m in find_pii(text)] == ["id_card"]
    assert redact_pii(text) == ("卡号 <ID_CARD> <BANK_CARD>", {"id_card": 1, "bank_card": 1})


def test_text_without_pii_comes_back_as_the_same_object() -> None:
    text = "1998年全年国内生产总值达到74772亿元，比上年增长8.8%，时间12:30。"
    assert redact_pii(text)[0] is text


# --- the step ------------------------------------------------------------------------------------


def test_step_counts_each_redaction_under_pii_type() -> None:
    stats = StepStats("pii_redact")
    PiiRedact().apply("电话13812345678或13912345678，邮箱a@example.com，地址1.2.3.4", stats)
    assert stats.counters == {"pii:mobile": 2, "pii:email": 1, "pii:ipv4": 1}


def test_make_step_with_types_only_redacts_emails() -> None:
    step = make_step({"pii_redact": {"types": ["email"]}})
    assert isinstance(step, PiiRedact)
    stats = StepStats("pii_redact")
    out = step.apply(f"邮箱a@example.com，电话13812345678，身份证{VALID_ID}", stats)
    assert out == f"邮箱<EMAIL>，电话13812345678，身份证{VALID_ID}"
    assert stats.counters == {"pii:email": 1}


def test_make_step_rejects_an_unknown_type() -> None:
    with pytest.raises(ValueError, match=r"pii_redact.*unknown PII type.*'phone'"):
        make_step({"pii_redact": {"types": ["phone"]}})


def test_step_config_round_trips_through_make_step() -> None:
    step = PiiRedact(types=("mobile", "email"), placeholder="[{type}]")
    assert make_step(step.to_config()) == step


def test_placeholder_may_use_type_and_label() -> None:
    step = PiiRedact(placeholder="[{label}:{type}]")
    out = step.apply("电话13812345678，地址2001:db8::1", StepStats("pii_redact"))
    assert out == "电话[MOBILE:mobile]，地址[IP:ipv6]"


def test_placeholder_with_unknown_field_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"placeholder '<\{kind\}>' does not format"):
        PiiRedact(placeholder="<{kind}>")


def test_process_keeps_every_row_and_counts_modified_documents() -> None:
    table = texts(
        [
            {"id": "a", "text": "联系电话 13812345678，"},
            {"id": "b", "text": "没有个人信息。"},
            {"id": "c", "text": f"银行卡号{UNIONPAY}，邮箱：x@example.cn。"},
        ]
    )
    stats = StepStats("pii_redact")
    out = PiiRedact().process(table, stats)
    assert out.column("id").to_pylist() == ["a", "b", "c"]
    assert out.column("text").to_pylist() == [
        "联系电话 <MOBILE>，",
        "没有个人信息。",
        "银行卡号<BANK_CARD>，邮箱：<EMAIL>。",
    ]
    assert (stats.seen, stats.kept, stats.modified, sum(stats.dropped.values())) == (3, 3, 2, 0)
    assert stats.counters == {"pii:mobile": 1, "pii:bank_card": 1, "pii:email": 1}


# --- properties ----------------------------------------------------------------------------------

_FRAGMENTS = [
    VALID_ID,
    ID_WITH_X,
    LEGACY_ID,
    "13812345678",
    "+86 ",
    "138 1234 5678",
    UNIONPAY,
    VISA,
    "卡号",
    "card ",
    "a@b.co",
    "zhang.san@example.com",
    "1.2.3.4",
    "2001:db8::1",
    "::",
    "。",
    "，",
    "中文",
]
_messy_text = st.lists(
    st.sampled_from(_FRAGMENTS) | st.text(alphabet="0123456789 -.:@abcfXx卡号。", max_size=6),
    max_size=25,
).map("".join)


@given(_messy_text)
def test_redacting_twice_equals_redacting_once(text: str) -> None:
    once = redacted(text)
    assert redacted(once) == once


@given(st.text(alphabet=st.characters(exclude_characters="0123456789@:")))
def test_text_without_digits_at_sign_or_colon_is_never_changed(text: str) -> None:
    assert redact_pii(text) == (text, {})


_chinese = st.text(
    alphabet="的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
)


@given(_chinese, _chinese)
def test_valid_id_between_any_chinese_text_is_redacted(before: str, after: str) -> None:
    assert redacted(before + VALID_ID + after) == f"{before}<ID_CARD>{after}"
