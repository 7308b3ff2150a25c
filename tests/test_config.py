import pytest

from syncd import hookimpl
from syncd.config import load_config
from syncd.connectors import TargetOptions
from syncd.errors import ConfigError
from syncd.plugins import load_plugins

from .plugin_fixtures import FakePlugin, FakeTarget

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


# -- named connections, per-target options, time zone, state URL (issue 8: 11, 12, 19, 24) --

class CategoryOptions(TargetOptions):
    category: str = "8400"
    project: int | None = None


class OptionTarget(FakeTarget):
    name = "opt-target"
    options_model = CategoryOptions


class OptionPlugin(FakePlugin):
    @hookimpl
    def register_targets(self, register):
        register(FakeTarget)
        register(OptionTarget)


TWO_ACCOUNTS = """
[plugins.fake]
enabled = true
api_key = "sk-account-a-111"
region = "de"

[plugins.fake.connections.shop-b]
api_key = "sk-account-b-222"

[[pipelines]]
name = "p1"
source = "fake-source"
targets = ["fake-target", "fake-target@shop-b", "opt-target@shop-b"]

[pipelines.options."opt-target@shop-b"]
category = "4400"
"""


@pytest.fixture
def opt_registry():
    return load_plugins(extra=[("fake", OptionPlugin())]).registry


def test_named_connection_overrides_the_plugin_table(tmp_path, opt_registry):
    cfg = load_config(write(tmp_path, TWO_ACCOUNTS), opt_registry)
    plugin, a = cfg.connector_config("fake-target")
    assert plugin == "fake" and a.api_key.get_secret_value() == "sk-account-a-111"
    plugin, b = cfg.connector_config("fake-target@shop-b", "target")
    assert b.api_key.get_secret_value() == "sk-account-b-222" and b.region == "de"
    assert set(cfg.secrets()) == {"sk-account-a-111", "sk-account-b-222"}
    shown = cfg.redacted()["plugins"]["fake"]
    assert shown["connections"]["shop-b"]["api_key"] == "**********"
    assert "sk-account" not in repr(cfg.redacted())
    with pytest.raises(ConfigError, match="no connection 'nope'"):
        cfg.connector_config("fake-target@nope")


def test_build_connector_hands_the_connection_and_full_endpoint(tmp_path, opt_registry):
    from syncd.engine import build_connector
    from syncd.plugins import PluginHost

    cfg = load_config(write(tmp_path, TWO_ACCOUNTS), opt_registry)
    host = load_plugins(extra=[("fake", OptionPlugin())])
    assert isinstance(host, PluginHost)
    target = build_connector(cfg, host, cfg.pipeline("p1"), "target", "opt-target@shop-b")
    assert isinstance(target, OptionTarget)
    assert target.context.endpoint == "opt-target@shop-b" and target.context.plugin == "fake"
    assert target.config.api_key.get_secret_value() == "sk-account-b-222"
    assert target.context.data_dir == tmp_path / "data" / "fake@shop-b"
    assert target.context.company is None and target.context.timezone.key == "Europe/Berlin"


def test_target_options_validated_and_returned(tmp_path, opt_registry):
    cfg = load_config(write(tmp_path, TWO_ACCOUNTS), opt_registry)
    assert cfg.target_options("p1", "opt-target@shop-b") == CategoryOptions(category="4400")
    assert cfg.target_options(cfg.pipeline("p1"), "fake-target") is None


def test_connection_and_option_problems_all_at_once(tmp_path, opt_registry):
    bad = TWO_ACCOUNTS.replace('category = "4400"', 'category = 5\ncolour = "red"') + """
[pipelines.options.fake-target]
x = 1

[pipelines.options.elsewhere]
y = 2

[plugins.fake.connections.shop-c]
region = 7

[[pipelines]]
name = "p2"
source = "fake-source@shop-z"
targets = ["nowhere"]
schedule = "every tuesday"
"""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, bad), opt_registry)
    problems = err.value.problems
    for expected in (
        "pipelines[0].options.opt-target@shop-b.category: input should be a valid string",
        "pipelines[0].options.opt-target@shop-b.colour: extra inputs are not permitted",
        "pipelines[0].options.fake-target: target 'fake-target' takes no options",
        "pipelines[0].options.elsewhere: 'elsewhere' is not a target of this pipeline "
        "(targets: fake-target, fake-target@shop-b, opt-target@shop-b)",
        "plugins.fake.connections.shop-c.region: input should be a valid string",
    ):
        assert expected in problems, problems
    # a field error and the references of the same pipeline, reported together
    assert any(p.startswith("pipelines[1].schedule:") for p in problems)
    assert any(p.startswith("pipelines[1].source: plugin 'fake' has no connection 'shop-z'")
               for p in problems)
    assert any(p.startswith("pipelines[1].targets[0]: no plugin offers a target named "
                            "'nowhere'") for p in problems)


def test_plugin_table_of_shared_keys_needs_no_credentials(tmp_path, opt_registry):
    text = TWO_ACCOUNTS.replace('api_key = "sk-account-a-111"\n', "").replace(
        'targets = ["fake-target", ', "targets = [")
    text = text.replace('source = "fake-source"', 'source = "fake-source@shop-b"')
    cfg = load_config(write(tmp_path, text), opt_registry)
    assert "fake" not in cfg.plugin_configs and cfg.enabled_plugins == {"fake"}
    assert cfg.redacted()["plugins"]["fake"]["region"] == "de"
    # a pipeline using the plugin table itself needs it complete
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text.replace("targets = [", 'targets = ["fake-target", ')),
                    opt_registry)
    assert err.value.problems == ["plugins.fake.api_key: field required"]


def test_company_timezone(tmp_path, registry):
    cfg = load_config(write(tmp_path, GOOD), registry)
    assert cfg.company().timezone == "Europe/Berlin" == cfg.timezone
    text = GOOD.replace('country = "DE"', 'country = "DE"\ntimezone = "Europe/Lisbon"')
    assert load_config(write(tmp_path, text), registry).company().timezone == "Europe/Lisbon"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text.replace("Europe/Lisbon", "Mars/Olympus")), registry)
    assert err.value.problems == ["company.timezone: 'Mars/Olympus' is not an IANA time zone "
                                  "such as 'Europe/Berlin'"]


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://u@h/db", "state.url: database 'mysql' is not supported"),
    ("postgresql+pg8000://u@h/db",
     "state.url: the driver 'pg8000' for postgresql is not installed"),
    ("postgresql+nosuch://u@h/db", "state.url: 'nosuch' is not a postgresql driver"),
    ("not a url", "state.url: 'not a url' is not a database URL"),
    ("sqlite://", "state.url: an in-memory SQLite database keeps nothing"),
])
def test_state_url_driver_checked(tmp_path, registry, url, message):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD + f'\n[state]\nurl = "{url}"\n'), registry)
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems
    # reported together with field errors elsewhere
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD.replace('city = "Berlin"', "city = 5")
                          + f'\n[state]\nurl = "{url}"\n'), registry)
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems
    assert "company.city: input should be a valid string" in err.value.problems


def test_amazon_unknown_marketplace_is_an_error(tmp_path):
    text = """
[plugins.amazon]
enabled = true
client_id = "amzn1.application-oa2-client.x"
client_secret = "cs"
refresh_token = "Atzr|abc"
marketplace_ids = ["A1PA6795UKMFR9", "XX"]
"""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), load_plugins().registry)
    (problem,) = err.value.problems
    assert problem.startswith("plugins.amazon.marketplace_ids: unknown marketplace id(s) 'XX'")
    assert "A1PA6795UKMFR9 (DE)" in problem


def test_shared_secret_in_the_plugin_table_is_masked(tmp_path, opt_registry):
    text = """
[plugins.fake]
enabled = true
api_key = "sk-shared-333"

[plugins.fake.connections.eu]
region = "eu-west"

[[pipelines]]
name = "p1"
source = "fake-source@eu"
targets = ["fake-target@eu"]
"""
    cfg = load_config(write(tmp_path, text), opt_registry)
    assert cfg.connector_config("fake-source@eu")[1].api_key.get_secret_value() == (
        "sk-shared-333")
    assert "sk-shared-333" not in repr(cfg.redacted())
    assert cfg.secrets() == ["sk-shared-333"]


def test_environment_overrides_a_connection_key(tmp_path, opt_registry, monkeypatch):
    monkeypatch.setenv("SYNCD_PLUGINS__FAKE__CONNECTIONS__SHOP-B__API_KEY", "sk-from-env-444")
    cfg = load_config(write(tmp_path, TWO_ACCOUNTS), opt_registry)
    assert cfg.connector_config("fake-target@shop-b")[1].api_key.get_secret_value() == (
        "sk-from-env-444")
    assert "sk-from-env-444" in cfg.secrets()


def test_pipelines_with_wrong_types_are_reported_not_crashed_on(tmp_path, registry):
    text = GOOD + """
[[pipelines]]
name = "x"
source = 5
targets = "fake-target"

[[pipelines]]
source = "fake-source"
targets = ["fake-target", 7]

[[pipelines]]
source = "fake-source"
targets = ["fake-target"]
options = { fake-target = 5 }
"""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), registry)
    problems = err.value.problems
    assert "pipelines[1].source: input should be a valid string" in problems
    assert "pipelines[1].targets: input should be a valid list" in problems
    assert "pipelines[2].name: field required" in problems
    assert "pipelines[2].targets[1]: input should be a valid string" in problems
    assert "pipelines[3].options.fake-target: input should be a valid dictionary" in problems
    assert not any("used by another pipeline" in p for p in problems)


def test_relative_sqlite_url_is_relative_to_the_config(tmp_path, registry, monkeypatch):
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "syncd.toml"
    path.write_text(GOOD + '\n[state]\nurl = "sqlite:///state/syncd.db"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(path, registry)
    assert cfg.database_url == f"sqlite:///{tmp_path / 'etc' / 'state' / 'syncd.db'}"
    path.write_text(GOOD + '\n[state]\nurl = "sqlite:////abs/x.db"\n', encoding="utf-8")
    assert load_config(path, registry).database_url == "sqlite:////abs/x.db"


def test_malformed_endpoint_names(tmp_path, registry):
    text = GOOD.replace('source = "fake-source"', 'source = "fake-source@"').replace(
        'targets = ["fake-target"]', 'targets = ["@shop", "fake-target@a@b"]')
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), registry)
    assert err.value.problems == [
        "pipelines[0].source: 'fake-source@' is not a source name (write <name> or "
        "<name>@<connection>)",
        "pipelines[0].targets[0]: '@shop' is not a target name (write <name> or "
        "<name>@<connection>)",
        "pipelines[0].targets[1]: 'fake-target@a@b' is not a target name (write <name> or "
        "<name>@<connection>)",
    ]
