"""`tenderhall registry check-codes`: one verdict line a code, exit status 0 / 1 / 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args: str, stdin: str = "") -> str:
    """Run the command in-process and return its standard output."""
    out = io.StringIO()
    call_command("registry", "check-codes", *args, stdin=io.StringIO(stdin), stdout=out)
    return out.getvalue()


def test_valid_codes_are_printed_one_line_each_and_the_command_succeeds():
    # given
    codes = "91350100M000100Y43\n11010519491231002X\n12345678-8\n"

    # when
    output = run(stdin=codes)

    # then
    assert output == (
        "91350100M000100Y43\tvalid\tuscc\t\n"
        "11010519491231002X\tvalid\tresident_id\t\n"
        "123456788\tvalid\torg_code\t\n"
    )


def test_invalid_codes_are_printed_with_their_reason_and_the_command_fails_with_status_1():
    # given
    codes = "91110000600037341N\n91350100M000100Y43\n123456789012345\n"
    out = io.StringIO()

    # when
    with pytest.raises(CommandError) as raised:
        call_command("registry", "check-codes", stdin=io.StringIO(codes), stdout=out)

    # then
    assert raised.value.returncode == 1
    assert str(raised.value) == "2 of 3 codes are invalid"
    assert out.getvalue() == (
        "91110000600037341N\tinvalid\tuscc\tcheck character is N, expected L\n"
        "91350100M000100Y43\tvalid\tuscc\t\n"
        "123456789012345\tinvalid\tresident_id\t15-digit identity numbers were replaced by 18-digit ones "
        "(first-generation cards ceased to be valid in 2013): use the 18-digit number\n"
    )


def test_a_single_invalid_code_is_counted_in_the_singular():
    with pytest.raises(CommandError, match=r"^1 of 1 code is invalid$"):
        run(stdin="9135010\n")


def test_warnings_of_valid_codes_go_in_the_reason_column():
    # when
    output = run(stdin="N2330784MF0000001X\n")

    # then
    assert output == (
        "N2330784MF0000001X\tvalid\tuscc\t"
        "warning: the embedded organisation code MF0000001 ends in 1, expected 5 (GB 11714)\n"
    )


def test_two_warnings_are_joined_by_a_semicolon():
    # given authority N, region 110103 (withdrawn after 2010) and a wrong embedded organisation code
    output = run(stdin="N2110103MF0000001Y\n")

    # then
    assert output == (
        "N2110103MF0000001Y\tvalid\tuscc\t"
        "warning: region code 110103 (北京市 崇文区) was withdrawn after 2010, before unified social credit "
        "codes were issued (2015); "
        "warning: the embedded organisation code MF0000001 ends in 1, expected 5 (GB 11714)\n"
    )


def test_blank_lines_and_surrounding_whitespace_are_skipped():
    # when
    output = run(stdin="\n  91350100m000100y43 \r\n\t\n\n")

    # then
    assert output == "91350100M000100Y43\tvalid\tuscc\t\n"


def test_no_codes_print_nothing_and_succeed():
    assert run(stdin="") == ""


def test_a_tab_inside_a_code_is_escaped_so_the_columns_stay_put():
    # given
    out = io.StringIO()

    # when
    with pytest.raises(CommandError):
        call_command("registry", "check-codes", stdin=io.StringIO("1234\t5678\n"), stdout=out)

    # then
    assert out.getvalue().count("\t") == 3
    assert out.getvalue() == (
        "1234\\t5678\tinvalid\torg_code\tcharacter 5 is '\\t', expected a digit or a capital letter\n"
    )


def test_codes_are_read_from_a_file_with_a_byte_order_mark_and_windows_line_ends(tmp_path: Path):
    # given
    file = tmp_path / "codes.txt"
    file.write_bytes("\ufeff91350100M000100Y43\r\n360426199101010071\r\n".encode())

    # when
    output = run(str(file))

    # then
    assert output == "91350100M000100Y43\tvalid\tuscc\t\n360426199101010071\tvalid\tresident_id\t\n"


def test_a_dash_reads_standard_input():
    assert run("-", stdin="91350100M000100Y43\n") == "91350100M000100Y43\tvalid\tuscc\t\n"


def test_a_missing_file_fails_with_status_2(tmp_path: Path):
    # given
    missing = tmp_path / "missing.txt"

    # when
    with pytest.raises(CommandError) as raised:
        run(str(missing))

    # then
    assert raised.value.returncode == 2
    assert str(raised.value) == f"{missing}: no such file"


def test_a_file_that_is_not_utf8_fails_with_status_2(tmp_path: Path):
    # given a GBK-encoded file
    file = tmp_path / "codes.txt"
    file.write_bytes("代码\n".encode("gbk"))

    # when
    with pytest.raises(CommandError) as raised:
        run(str(file))

    # then
    assert raised.value.returncode == 2
    assert str(raised.value) == f"{file} is not UTF-8 text (invalid start byte)"


def test_the_console_script_reads_standard_input_and_exits_with_the_verdict(tmp_path: Path):
    # given the installed `tenderhall` command next to this interpreter
    tenderhall = Path(sys.executable).with_name("tenderhall")
    environment = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path)}

    # when
    completed = subprocess.run(
        [str(tenderhall), "registry", "check-codes"],
        input="91350100M000100Y43\n91350100M000100Y4Z\n",
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )

    # then
    assert completed.returncode == 1
    assert completed.stdout == (
        "91350100M000100Y43\tvalid\tuscc\t\n"
        "91350100M000100Y4Z\tinvalid\tuscc\tcharacter 18 is 'Z', expected a digit or one of "
        "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z); the check character for this code is 3\n"
    )
    assert completed.stderr == "CommandError: 1 of 2 codes are invalid\n"


def test_the_console_script_exits_with_status_2_for_a_missing_file(tmp_path: Path):
    # given
    tenderhall = Path(sys.executable).with_name("tenderhall")
    environment = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path)}

    # when
    completed = subprocess.run(
        [str(tenderhall), "registry", "check-codes", str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )

    # then
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == f"CommandError: {tmp_path / 'missing.txt'}: no such file\n"
