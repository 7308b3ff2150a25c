import pytest

from syncd.config import load_config
from syncd.errors import ConfigError
from syncd.plugins import load_plugins

from .plugin_fixtures import FakePlugin

GOOD = """
[company]
name = "Muster GmbH"
address = ["Musterstr. 1"]
postal_code = "10115"
city = "Berlin"
country = "DE"
vat_ids = { DE = "DE123456789" }

[plugins.fake]
enabled = true
api_key = "sk-very-secret-123"

[[pipelines]]
name = "p1"
source = "fake-source"
targets = ["fake-target"]
schedule = "0 */12 * * *"
"""


@pytest.fixture
def registry():
    return load_plugins(extra=[("fake", FakePlugin())]).registry


def write(tmp_path, text):
    path = tmp_path / "syncd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads(tmp_path, registry):
    cfg = load_config(write(tmp_path, GOOD), registry)
    assert cfg.enabled_plugins == {"fake"}
    assert cfg.plugin_configs["fake"].api_key.get_secret_value() == "sk-very-secret-123"
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'syncd.db').resolve()}"
    assert cfg.company().seller.vat_id_for("DE") == "DE123456789"
    assert cfg.pipeline("p1").parsed_schedule.interval is None


def test_every_problem_reported_with_its_path(tmp_path, registry):
    bad = GOOD.replace('api_key = "sk-very-secret-123"', 'colour = "red"').replace(
        'postal_code = "10115"', ""
    ).replace('targets = ["fake-target"]', 'targets = ["nowhere"]') + """
[plugins.ghost]
enabled = true
"""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad), registry)
    problems = err.value.problems
    assert "company.postal_code: field required" in problems
    assert "plugins.fake.api_key: field required" in problems
    assert "plugins.fake.colour: extra inputs are not permitted" in problems
    assert any(p.startswith("plugins.ghost: no installed plugin") for p in problems)
    assert any(p.startswith("pipelines[0].targets[0]: no plugin offers a target named 'nowhere'")
               for p in problems)


def test_pipeline_needs_enabled_plugin(tmp_path, registry):
    text = GOOD.replace("enabled = true", "enabled = false")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), registry)
    assert "pipelines[0].source: plugin 'fake' is not enabled (set plugins.fake.enabled)" in (
        err.value.problems
    )


def test_malformed_toml_has_line_and_column(tmp_path, registry):
    with pytest.raises(ConfigError, match=r"line 3, column"):
        load_config(write(tmp_path, "[company]\nname = 'x'\ncity = \n"), registry)


def test_not_utf8(tmp_path, registry):
    path = tmp_path / "syncd.toml"
    path.write_bytes(b"[company]\nname = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, registry)


def test_environment_overrides_file(tmp_path, registry, monkeypatch):
    monkeypatch.setenv("SYNCD_PLUGINS__FAKE__API_KEY", "from-env-456")
    monkeypatch.setenv("SYNCD_STATE__URL", "postgresql+psycopg://u:pw-789@db/syncd")
    cfg = load_config(write(tmp_path, GOOD), registry)
    assert cfg.plugin_configs["fake"].api_key.get_secret_value() == "from-env-456"
    assert cfg.database_url.endswith("@db/syncd")
    assert set(cfg.secrets()) == {"from-env-456", "pw-789"}


def test_redacted_masks_every_secret(tmp_path, registry, monkeypatch):
    monkeypatch.setenv("SYNCD_STATE__URL", "postgresql+psycopg://u:pw-789@db/syncd")
    cfg = load_config(write(tmp_path, GOOD), registry)
    text = repr(cfg.redacted())
    assert "sk-very-secret-123" not in text and "pw-789" not in text
    assert cfg.redacted()["plugins"]["fake"]["api_key"] == "**********"


def test_config_path_from_environment(tmp_path, registry, monkeypatch):
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("SYNCD_CONFIG", str(path))
    assert load_config(None, registry).path == path


def test_missing_file(tmp_path, registry):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", registry)


def test_amazon_config_keys(tmp_path):
    registry = load_plugins().registry
    text = """
[plugins.amazon]
enabled = true
client_id = "amzn1.application-oa2-client.x"
client_secret = "cs"
refresh_token = "Atzr|abc"
marketplace_ids = ["A1PA6795UKMFR9"]
upload_interval = "250ms"
invoice_series = "INV-{year}-{seq:06d}"
credit_note_series = "CN\\"{seq}"
"""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), registry)
    assert [p.split(":")[0] for p in err.value.problems] == ["plugins.amazon.credit_note_series"]
    cfg = load_config(write(tmp_path, text.replace('CN\\"{seq}', "CN-{yy}-{seq}")), registry)
    assert cfg.plugin_configs["amazon"].upload_interval.total_seconds() == 0.25
