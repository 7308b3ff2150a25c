import io
import json

from syncd import log


def capture(**kw):
    stream = io.StringIO()
    log.configure(fmt="json", stream=stream, **kw)
    return stream


def test_json_lines_and_masking_of_configured_secrets():
    stream = capture(secrets=["hunter2-secret"])
    log.get_logger("t").info("login", password="hunter2-secret", note="x hunter2-secret y")
    record = json.loads(stream.getvalue())
    assert record["password"] == "***" and record["note"] == "x *** y"
    assert record["event"] == "login" and record["level"] == "info"


def test_token_shaped_strings_masked_even_in_exceptions():
    stream = capture()
    logger = log.get_logger("t")
    try:
        raise RuntimeError("refused Atza|IwEBIA-token-xyz and Bearer abc.def")
    except RuntimeError:
        logger.exception("failed", header="Authorization: Bearer zzz", refresh="Atzr|IwEBIrefresh")
    text = stream.getvalue()
    for secret in ("Atza|IwEBIA", "abc.def", "zzz", "Atzr|IwEBIrefresh"):
        assert secret not in text
    assert "***" in json.loads(text)["exception"]


def test_console_format_when_asked():
    stream = io.StringIO()
    log.configure(fmt="console", stream=stream)
    log.get_logger("t").info("hello", n=1)
    assert "hello" in stream.getvalue() and not stream.getvalue().startswith("{")
