"""Identifier normalisation and validation (no graph needed)."""

from __future__ import annotations

import pytest

from identity import TenantConfig, ValidationError
from identity.domain.identifiers import normalize, parse_timestamp
from identity.security.protect import DevelopmentProtector

CONFIG = TenantConfig()


@pytest.mark.parametrize("raw, expected", [
    ("  Ann.Smith@Example.COM ", "ann.smith@example.com"),
    ("Ann.Smith+news@gmail.com", "annsmith@gmail.com"),
    ("a.b.c@GoogleMail.com", "abc@gmail.com"),
    ("ann+x@example.com", "ann+x@example.com"),
])
def test_email(raw: str, expected: str) -> None:
    assert normalize("email", raw, CONFIG) == expected


def test_email_rules_are_configurable() -> None:
    config = TenantConfig(gmail_normalization=False, strip_plus_tags=True)
    assert normalize("email", "a.b+x@gmail.com", config) == "a.b@gmail.com"
    assert normalize("email", "ann+x@example.com", config) == "ann@example.com"


@pytest.mark.parametrize("raw", ["no-at-sign", "a@@b.com", "a@b", "@b.com", "a..b@c.com", "a@-b.com"])
def test_invalid_emails(raw: str) -> None:
    with pytest.raises(ValidationError):
        normalize("email", raw, CONFIG)


@pytest.mark.parametrize("raw, expected", [
    ("+1 (555) 010-0200", "+15550100200"),
    ("555-010-0200", "+15550100200"),          # national: the tenant's default country code
    ("0044 20 7946 0958", "+442079460958"),    # 00 international prefix
    ("+44 (0)20 7946 0958".replace("(0)", ""), "+442079460958"),
])
def test_phone_to_e164(raw: str, expected: str) -> None:
    assert normalize("phone", raw, CONFIG) == expected


def test_phone_national_numbers_take_the_configured_country_code() -> None:
    config = TenantConfig(default_country_code="44")
    assert normalize("phone", "020 7946 0958", config) == "+442079460958"  # trunk 0 dropped


@pytest.mark.parametrize("raw, reason", [
    ("+12345", "too short"), ("+1234567890123456", "too long"), ("+1 555 CALL NOW", "not a phone"),
    ("+0123456789", "country calling code"),
])
def test_invalid_phones(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize("phone", raw, CONFIG)
    assert reason in caught.value.reason


@pytest.mark.parametrize("raw, expected", [
    ("6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ("{6d92078a-8246-4ba4-ae5b-76104861e7dc}", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ("6d92078a82464ba4ae5b76104861e7dc", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ("Vendor-Dev-42", "vendor-dev-42"),
])
def test_device_ids(raw: str, expected: str) -> None:
    assert normalize("device_id", raw, CONFIG) == expected


def test_strict_device_ids_accept_only_uuid_forms() -> None:
    with pytest.raises(ValidationError):
        normalize("device_id", "vendor-dev-42", TenantConfig(strict_device_ids=True))


@pytest.mark.parametrize("raw, expected", [
    (" 192.168.001.1 ".replace("001", "1"), "192.168.1.1"),
    ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("::ffff:10.0.0.1", "10.0.0.1"),
])
def test_ip_addresses_are_canonical(raw: str, expected: str) -> None:
    assert normalize("ip", raw, CONFIG) == expected


def test_other_types() -> None:
    digest = "A" * 64
    assert normalize("hashed_email", digest, CONFIG) == "a" * 64
    assert normalize("cookie", " AbC123 ", CONFIG) == "AbC123"
    assert normalize("partner_id", "CRM-0042", CONFIG) == "CRM-0042"
    assert normalize("payment_fingerprint", "Xt5EWLLDS7FJjR1c", CONFIG) == "Xt5EWLLDS7FJjR1c"
    with pytest.raises(ValidationError):
        normalize("hashed_email", "abc", CONFIG)
    with pytest.raises(ValidationError):
        normalize("ip", "999.1.1.1", CONFIG)
    with pytest.raises(ValidationError):
        normalize("cookie", "has space", CONFIG)


def test_errors_name_the_field_and_never_echo_the_value() -> None:
    secret = "ann.secret@@example.com"
    with pytest.raises(ValidationError) as caught:
        normalize("email", secret, CONFIG, field="events[0].identifiers[2]")
    assert caught.value.field == "events[0].identifiers[2].value"
    assert secret not in str(caught.value) and "ann" not in str(caught.value)
    with pytest.raises(ValidationError) as unknown:
        normalize("shoe_size", "44", CONFIG, field="identifiers[1]")
    assert unknown.value.field == "identifiers[1].type"


def test_timestamps() -> None:
    assert parse_timestamp("2024-05-01T10:00:00Z", field="t") == 1714557600000
    assert parse_timestamp("2024-05-01T12:00:00+02:00", field="t") == 1714557600000
    assert parse_timestamp(1714557600000, field="t") == 1714557600000
    assert parse_timestamp(1714557600, field="t", epoch_unit_ms=False) == 1714557600000
    for bad in ("yesterday", True, -1, [1]):
        with pytest.raises(ValidationError):
            parse_timestamp(bad, field="t")


def test_protector_blind_index_and_sealing() -> None:
    protector = DevelopmentProtector()
    other = DevelopmentProtector(b"another-key-of-enough-length")
    index = protector.blind_index("email", "ann@example.com")
    assert index == protector.blind_index("email", "ann@example.com") and len(index) == 64
    assert index != other.blind_index("email", "ann@example.com")
    assert index != protector.blind_index("hashed_email", "ann@example.com")
    sealed = protector.seal("v1", "value", "ann@example.com")
    assert "ann" not in sealed and protector.open("v1", "value", sealed) == "ann@example.com"
    with pytest.raises(Exception):
        protector.open("v2", "value", sealed)  # bound to its element
