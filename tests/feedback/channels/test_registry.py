import pytest

from feedback.channels import CONNECTORS, UNKNOWN_KIND, ConfigError, get_connector
from feedback.channels.imap import ImapConnector


def test_every_registered_connector_is_filed_under_its_own_kind():
    assert CONNECTORS
    for kind, connector in CONNECTORS.items():
        assert connector.kind == kind
        assert get_connector(kind) is connector


def test_imap_is_registered():
    assert isinstance(get_connector("imap"), ImapConnector)


def test_an_unknown_kind_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError) as raised:
        get_connector("carrier-pigeon")

    known = ", ".join(sorted(CONNECTORS))
    assert raised.value.message == UNKNOWN_KIND.format(kind="carrier-pigeon", known=known)
    assert raised.value.field == "kind"
    assert not raised.value.retryable
