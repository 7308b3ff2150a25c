"""`[plugins.lexoffice]` and `[pipelines.options.lexoffice]` through the real config loader."""

from __future__ import annotations

import pytest
import tomli_w

from syncd.config import load_config
from syncd.errors import ConfigError
from syncd.plugins import load_plugins
from syncd_lexoffice.config import LexofficeOptions
from syncd_lexoffice.transport import rate_limit


def load(tmp_path, syncd_plugin, lexoffice, options=None):
    data = {"plugins": {"testing": {"enabled": True},
                        "lexoffice": {"enabled": True, "api_key": "k-123", **lexoffice}},
            "pipelines": [{"name": "p", "source": "synthetic", "targets": ["lexoffice"],
                           "options": {"lexoffice": options or {}}}]}
    path = tmp_path / "syncd.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return load_config(path, load_plugins(extra=[syncd_plugin]).registry)


def test_defaults_and_options(tmp_path, syncd_plugin):
    config = load(tmp_path, syncd_plugin, {}, {"category": "Dienstleistungen"})
    plugin = config.plugin_configs["lexoffice"]
    assert str(plugin.base_url) == "https://api.lexware.io/"
    assert (plugin.requests_per_second, plugin.contact, plugin.mark_paid) == (2, "collective",
                                                                              False)
    options = config.target_options("p", "lexoffice")
    assert isinstance(options, LexofficeOptions) and options.category == "Dienstleistungen"
    assert "k-123" not in str(config.redacted())
    with_login = load(tmp_path, syncd_plugin, {"mark_paid": True, "login_email": "a@b.de",
                                               "login_password": "pw-secret-9"})
    assert "pw-secret-9" not in str(with_login.redacted())
    assert "pw-secret-9" not in repr(with_login.plugin_configs["lexoffice"])


def test_unknown_keys_are_named(tmp_path, syncd_plugin):
    with pytest.raises(ConfigError, match="colour"):
        load(tmp_path, syncd_plugin, {}, {"colour": "red"})
    with pytest.raises(ConfigError, match="contact"):
        load(tmp_path, syncd_plugin, {"contact": "everyone"})


def test_fractional_rates_become_whole_requests():
    assert (rate_limit(2, "k").requests, rate_limit(2, "k").per) == (2, 1.0)
    assert (rate_limit(1.5, "k").requests, rate_limit(1.5, "k").per) == (3, 2.0)
